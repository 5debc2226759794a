package store

import (
	"testing"
	"time"
)

func TestScalingEvents(t *testing.T) {
	s, _ := open(t)
	base := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	update(t, s, func(tx *Tx) error {
		for i := range maxScalingEvents + 5 {
			if err := tx.PutScalingEvent(ScalingEvent{ServiceARN: "a", At: base.Add(time.Duration(i) * time.Second),
				From: i, To: i + 1, Concurrency: 3.5, Reason: "scale out"}); err != nil {
				return err
			}
		}
		return tx.PutScalingEvent(ScalingEvent{ServiceARN: "b", At: base, From: 1, To: 0, Reason: "idle"})
	})
	view(t, s, func(tx *Tx) error {
		evs, err := tx.ScalingEvents("a")
		if err != nil {
			return err
		}
		if len(evs) != maxScalingEvents {
			t.Fatalf("kept %d events, want %d", len(evs), maxScalingEvents)
		}
		last := evs[0]
		if last.From != maxScalingEvents+4 || last.To != maxScalingEvents+5 || last.Concurrency != 3.5 ||
			!last.At.Equal(base.Add(time.Duration(maxScalingEvents+4)*time.Second)) {
			t.Fatalf("newest event = %+v", last)
		}
		b, err := tx.ScalingEvents("b")
		if err != nil || len(b) != 1 || b[0].To != 0 || b[0].Reason != "idle" {
			t.Fatalf("service b events = %+v, %v", b, err)
		}
		return nil
	})
}
