package daemon

import (
	"log/slog"
	"math"
	"runtime/debug"
	"testing"
)

func TestParseMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "22MiB", want: 22 << 20},
		{in: "512KiB", want: 512 << 10},
		{in: "1GiB", want: 1 << 30},
		{in: "1000B", want: 1000},
		{in: "123456", want: 123456},
		{in: "off", want: math.MaxInt64},
		{in: "0", want: math.MaxInt64},
		{in: "22MB", bad: true},
		{in: "-1MiB", bad: true},
		{in: "MiB", bad: true},
		{in: "99999999999TiB", bad: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseMemoryLimit(tc.in)
			if tc.bad != (err != nil) || !tc.bad && got != tc.want {
				t.Fatalf("got %d, err %v; want %d, error %v", got, err, tc.want, tc.bad)
			}
		})
	}
}

func TestApplyMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	logger := slog.New(slog.DiscardHandler)
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	t.Run("the default applies and is undone on return", func(t *testing.T) {
		restore, err := ApplyMemoryLimit(DefaultMemoryLimit, false, env(nil), logger)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := parseMemoryLimit(DefaultMemoryLimit)
		if got := debug.SetMemoryLimit(-1); got != want {
			t.Fatalf("limit %d, want %d", got, want)
		}
		restore()
		if got := debug.SetMemoryLimit(-1); got != before {
			t.Fatalf("limit %d after restore, want %d", got, before)
		}
	})
	t.Run("GOMEMLIMIT wins over the flag", func(t *testing.T) {
		restore, err := ApplyMemoryLimit("64MiB", true, env(map[string]string{"GOMEMLIMIT": "1GiB"}), logger)
		if err != nil {
			t.Fatal(err)
		}
		defer restore()
		if got := debug.SetMemoryLimit(-1); got != before {
			t.Fatalf("limit changed to %d though GOMEMLIMIT is set", got)
		}
	})
	t.Run("a bad flag is an error and changes nothing", func(t *testing.T) {
		if _, err := ApplyMemoryLimit("lots", true, env(nil), logger); err == nil {
			t.Fatal("no error")
		}
		if got := debug.SetMemoryLimit(-1); got != before {
			t.Fatalf("limit changed to %d", got)
		}
	})
}
