package resource

import (
	"encoding/json"
	"testing"
)

func TestParseQuantity(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Quantity
	}{
		{"whole cores", "2", 2000},
		{"millicores", "500m", 500},
		{"a fraction of a core", "0.5", 500},
		{"binary gibibytes", "4Gi", 4 << 30 * 1000},
		{"decimal gigabytes", "1G", 1e9 * 1000},
		{"kibibytes", "1Ki", 1024 * 1000},
		{"a fraction finer than a thousandth rounds up", "0.0001", 1},
		{"zero", "0", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseQuantity(tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("ParseQuantity(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestParseQuantityRefuses(t *testing.T) {
	for _, in := range []string{"", "-1", "1.5.2", "1e3", "abc", "5Zi", ".5", "5.", "99999999999999999Ei", "1 Gi", "+1"} {
		if q, err := ParseQuantity(in); err == nil {
			t.Errorf("ParseQuantity(%q) = %d, want an error", in, q)
		}
	}
}

func TestQuantityString(t *testing.T) {
	tests := []struct {
		name string
		in   Quantity
		want string
	}{
		{"millicores", 500, "500m"},
		{"whole units", 2000, "2"},
		{"gibibytes", 4 << 30 * 1000, "4Gi"},
		{"mebibytes", 512 << 20 * 1000, "512Mi"},
		{"small byte counts stay plain", 1024 * 1000, "1024"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.in.String(); got != tc.want {
				t.Fatalf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestQuantityJSON(t *testing.T) {
	var l List
	if err := json.Unmarshal([]byte(`{"cpu":"250m","memory":"1Gi","containers":3}`), &l); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"containers":"3","cpu":"250m","memory":"1Gi"}`; got != want {
		t.Fatalf("round trip = %s, want %s", got, want)
	}
}

func TestListValidate(t *testing.T) {
	var errs Errors
	List{CPU: -1, "gpu": 1}.Validate(&errs, "hard")
	err, _ := errs.Err().(*ValidationError)
	if err == nil || len(err.Fields) != 2 || err.Fields[0].Path != "hard.cpu" || err.Fields[1].Path != "hard.gpu" {
		t.Fatalf("got %v, want errors at hard.cpu and hard.gpu", errs.Err())
	}
}

// FuzzParseQuantity: whatever parses formats to text that parses back to
// the same amount.
func FuzzParseQuantity(f *testing.F) {
	for _, s := range []string{"1", "500m", "4Gi", "0.25", "1.5k", "7Ei", "12345678901234567"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseQuantity(s)
		if err != nil {
			return
		}
		if q < 0 {
			t.Fatalf("ParseQuantity(%q) = %d, negative", s, q)
		}
		back, err := ParseQuantity(q.String())
		if err != nil || back != q {
			t.Fatalf("ParseQuantity(%q) = %d formats as %q which parses to %d, %v", s, q, q.String(), back, err)
		}
	})
}

func TestTimesSaturates(t *testing.T) {
	tests := []struct {
		name string
		q    Quantity
		n    int64
		want Quantity
	}{
		{"a small product is exact", 1500, 4, 6000},
		{"an overflowing product saturates", MaxQuantity / 2, 1 << 31, MaxQuantity},
		{"the largest amount times the largest replica count saturates", Quantity(1<<62 - 1), 1<<31 - 1, MaxQuantity},
		{"zero replicas reserve nothing", 1000, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.q.Times(tc.n); got != tc.want {
				t.Fatalf("%d.Times(%d) = %d, want %d", tc.q, tc.n, got, tc.want)
			}
		})
	}
}
