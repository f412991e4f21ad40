package main

import (
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// TestSearchSaysAtOnceThatTheAPICannotBeReached runs search against a closed loopback port in a
// synctest bubble, so the client's pacing and backoff run on the bubble's clock and the test
// measures how long a user would wait.
func TestSearchSaysAtOnceThatTheAPICannotBeReached(t *testing.T) {
	addr := closedPort(t)
	cases := []struct {
		env  map[string]string
		args []string
	}{
		{map[string]string{"VASTWATCH_API_URL": "http://" + addr}, []string{"search", "gpu_name=RTX_4090"}},
		{nil, []string{"search", "--api.url", "http://" + addr, "gpu_name=RTX_4090"}},
		{map[string]string{"VAST_API_KEY": "k-1"}, []string{"plan", "--api.url", "http://" + addr, "--config.file", "../../config.example.yaml", "--state.dir", t.TempDir()}},
	}
	for _, c := range cases {
		synctest.Test(t, func(t *testing.T) {
			start := time.Now()
			code, out, errs := runMain(t, c.env, c.args...)
			took := time.Since(start)
			if code != 1 || out != "" {
				t.Fatalf("%v: exit %d, stdout %q, stderr %q", c.args, code, out, errs)
			}
			if want := "cannot reach the Vast.ai API at http://" + addr; !strings.Contains(errs, want) {
				t.Errorf("%v: stderr %q lacks %q", c.args, errs, want)
			}
			if took > 3*time.Second {
				t.Errorf("%v took %s to give up on an unreachable API; want at most 3s", c.args, took)
			}
		})
	}
}
