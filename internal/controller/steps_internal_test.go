package controller

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestStepsRunInOrderUntilOneIsDoneOrFails(t *testing.T) {
	var ran []string
	mk := func(name string, done bool, retry time.Duration, err error) step {
		return step{name, "", func(context.Context) (bool, time.Duration, error) {
			ran = append(ran, name)
			return done, retry, err
		}}
	}
	boom := errors.New("boom")

	retry, err := runSteps(t.Context(), nil, mk("a", false, 0, nil), mk("b", true, 5*time.Second, nil), mk("c", false, 0, nil))
	if err != nil || retry != 5*time.Second || !slices.Equal(ran, []string{"a", "b"}) {
		t.Errorf("done at b: ran %q, retry %v, err %v; want [a b], 5s, nil", ran, retry, err)
	}

	ran = nil
	_, err = runSteps(t.Context(), nil, mk("load", false, 0, nil), mk("apply", false, 0, boom), mk("record", false, 0, nil))
	if !slices.Equal(ran, []string{"load", "apply"}) {
		t.Errorf("failed at apply: ran %q, want [load apply]", ran)
	}
	if !errors.Is(err, boom) || err.Error() != "boom" || stepOf(err) != "apply" {
		t.Errorf("err %v (step %q): want boom itself, from step apply", err, stepOf(err))
	}

	ran = nil
	retry, err = runSteps(t.Context(), nil, mk("a", false, 0, nil), mk("b", false, 0, nil))
	if err != nil || retry != 0 || len(ran) != 2 {
		t.Errorf("all steps: ran %q, retry %v, err %v", ran, retry, err)
	}
	if stepOf(boom) != "" {
		t.Errorf("stepOf a plain error = %q, want none", stepOf(boom))
	}
}

func TestStepsTellWhichOneRuns(t *testing.T) {
	var at step
	var seen []string
	mk := func(name, failed string) step {
		return step{name, failed, func(context.Context) (bool, time.Duration, error) {
			seen = append(seen, at.name+":"+at.failed)
			return false, 0, nil
		}}
	}
	if _, err := runSteps(t.Context(), &at, mk("connect", "ClusterUnreachable"), mk("record", "")); err != nil {
		t.Fatal(err)
	}
	if want := []string{"connect:ClusterUnreachable", "record:"}; !slices.Equal(seen, want) {
		t.Errorf("steps saw themselves as %q, want %q", seen, want)
	}
}
