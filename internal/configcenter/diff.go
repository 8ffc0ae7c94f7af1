package configcenter

import "strings"

// Line is one line of a diff: " " kept, "-" removed, "+" added.
type Line struct {
	Op   string `json:"op"`
	Text string `json:"text"`
}

// maxCells bounds the longest-common-subsequence table; beyond it the
// differing middle is shown as removed then added.
const maxCells = 4 << 20

// DiffLines returns the lines that turn a into b: the common prefix and
// suffix kept, the middle by longest common subsequence.
func DiffLines(a, b string) []Line {
	x, y := splitLines(a), splitLines(b)
	p := 0
	for p < len(x) && p < len(y) && x[p] == y[p] {
		p++
	}
	q := 0
	for q < len(x)-p && q < len(y)-p && x[len(x)-1-q] == y[len(y)-1-q] {
		q++
	}
	var out []Line
	for _, l := range x[:p] {
		out = append(out, Line{" ", l})
	}
	out = append(out, middle(x[p:len(x)-q], y[p:len(y)-q])...)
	for _, l := range x[len(x)-q:] {
		out = append(out, Line{" ", l})
	}
	return out
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

func middle(x, y []string) []Line {
	var out []Line
	if len(x)*len(y) > maxCells {
		for _, l := range x {
			out = append(out, Line{"-", l})
		}
		for _, l := range y {
			out = append(out, Line{"+", l})
		}
		return out
	}
	// lcs[i][j] is the length of the LCS of x[i:] and y[j:].
	lcs := make([][]int32, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int32, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			out = append(out, Line{" ", x[i]})
			i, j = i+1, j+1
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			out = append(out, Line{"-", x[i]})
			i++
		default:
			out = append(out, Line{"+", y[j]})
			j++
		}
	}
	return out
}
