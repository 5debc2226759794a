package main

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// wrkResult is what one wrk run reported.
type wrkResult struct {
	requests  int64
	reqPerSec float64
	p50, p99  time.Duration
	non2xx    int64
	sockErrs  int64 // connect, read, write and timeout errors
}

// runWrk runs wrk against url with every request carrying benchHost.
func runWrk(ctx context.Context, url string, threads, conns int, d time.Duration) (wrkResult, error) {
	args := []string{
		"-t" + strconv.Itoa(threads), "-c" + strconv.Itoa(conns),
		"-d" + strconv.Itoa(max(1, int(d.Round(time.Second)/time.Second))) + "s",
		"--latency", "-H", "Host: " + benchHost, url,
	}
	out, err := exec.CommandContext(ctx, "wrk", args...).CombinedOutput()
	if ctx.Err() != nil {
		return wrkResult{}, ctx.Err()
	}
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	r, err := parseWrk(string(out))
	if err != nil {
		return r, fmt.Errorf("wrk %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return r, nil
}

// parseWrk reads wrk --latency output.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	var haveRate, have50, have99 bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return r, fmt.Errorf("Requests/sec: %w", err)
			}
			r.reqPerSec, haveRate = v, true
		case len(f) == 2 && (f[0] == "50%" || f[0] == "99%"):
			v, err := parseWrkTime(f[1])
			if err != nil {
				return r, err
			}
			if f[0] == "50%" {
				r.p50, have50 = v, true
			} else {
				r.p99, have99 = v, true
			}
		case len(f) >= 3 && f[1] == "requests" && f[2] == "in":
			r.requests, _ = strconv.ParseInt(f[0], 10, 64)
		case len(f) == 5 && f[0] == "Non-2xx":
			r.non2xx, _ = strconv.ParseInt(f[4], 10, 64)
		case len(f) > 2 && f[0] == "Socket" && f[1] == "errors:":
			// "Socket errors: connect 0, read 0, write 0, timeout 0"
			for i := 3; i < len(f); i += 2 {
				n, _ := strconv.ParseInt(strings.TrimSuffix(f[i], ","), 10, 64)
				r.sockErrs += n
			}
		}
	}
	if !haveRate || !have50 || !have99 {
		return r, fmt.Errorf("no Requests/sec or latency distribution in wrk's output")
	}
	return r, nil
}

// parseWrkTime parses wrk's durations: "476.00us", "1.23ms", "2.00s", "1.50m".
func parseWrkTime(s string) (time.Duration, error) {
	units := []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, fmt.Errorf("wrk time %q: %w", s, err)
			}
			return time.Duration(math.Round(v * float64(u.unit))), nil
		}
	}
	return 0, fmt.Errorf("wrk time %q: unknown unit", s)
}

func wrkVersion() string {
	out, _ := exec.Command("wrk", "-v").CombinedOutput() // exits 1 after printing
	line, _, _ := strings.Cut(string(out), "\n")
	v, _, _ := strings.Cut(strings.TrimSpace(line), " Copyright")
	return v
}
