package main

import (
	"testing"
	"time"
)

const wrkOutput = `Running 10s test @ http://127.0.0.1:41234/
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.10ms    3.02ms  45.12ms   91.23%
    Req/Sec    14.62k     1.01k   16.30k    70.00%
  Latency Distribution
     50%  846.00us
     75%    1.91ms
     90%    4.88ms
     99%   12.80ms
  145512 requests in 10.00s, 20.12MB read
  Socket errors: connect 0, read 3, write 0, timeout 2
  Non-2xx or 3xx responses: 7
Requests/sec:  14551.20
Transfer/sec:      2.01MB
`

func TestParseWrk(t *testing.T) {
	got, err := parseWrk(wrkOutput)
	if err != nil {
		t.Fatal(err)
	}
	want := wrkResult{requests: 145512, reqPerSec: 14551.20, p50: 846 * time.Microsecond, p99: 12800 * time.Microsecond, non2xx: 7, sockErrs: 5}
	if got != want {
		t.Errorf("parseWrk = %+v, want %+v", got, want)
	}
}

func TestParseWrkIncomplete(t *testing.T) {
	if _, err := parseWrk("Running 10s test @ http://x/\nunable to connect to x:80 Connection refused\n"); err == nil {
		t.Error("parseWrk of output without figures: no error")
	}
}

func TestParseWrkTime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"476.00us", 476 * time.Microsecond},
		{"1.23ms", 1230 * time.Microsecond},
		{"2.00s", 2 * time.Second},
		{"1.50m", 90 * time.Second},
	} {
		got, err := parseWrkTime(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseWrkTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if _, err := parseWrkTime("3.0ns"); err == nil {
		t.Error(`parseWrkTime("3.0ns"): no error`)
	}
}
