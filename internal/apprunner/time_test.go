package apprunner

import (
	"encoding/json"
	"testing"
	"time"
)

func TestTimeJSON(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.UnixMilli(1700000000123), "1700000000.123"},
		{time.Unix(1700000000, 0), "1700000000"},
		{time.Unix(1700000000, 999_999_999), "1700000000.999"}, // truncated to milliseconds
		{time.UnixMilli(1700000000500), "1700000000.5"},
	}
	for _, tt := range tests {
		b, err := json.Marshal(NewTime(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tt.want {
			t.Errorf("Marshal(%v) = %s, want %s", tt.in, b, tt.want)
		}
		var got Time
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("Unmarshal(%s): %v", b, err)
		}
		if want := tt.in.Truncate(time.Millisecond); !got.Std().Equal(want) {
			t.Errorf("round trip of %s = %v, want %v", b, got.Std(), want)
		}
	}
}

func TestTimeInStruct(t *testing.T) {
	in := OperationSummary{Id: new("x"), StartedAt: NewTimePtr(time.UnixMilli(1700000000123))}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"Id":"x","StartedAt":1700000000.123}`; string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
}

func TestTimeRejectsString(t *testing.T) {
	var got Time
	if err := json.Unmarshal([]byte(`"2023-11-14T22:13:20Z"`), &got); err == nil {
		t.Error("Unmarshal of a string succeeded, want error")
	}
}
