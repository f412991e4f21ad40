package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi/vastapitest"
)

// wholeMarketOffers is the market of issue 19's measurements: 30,712 offers, 77.7 MB of JSON.
const wholeMarketOffers = 30_712

// searchPeakRSSLimit is docs/design.md §11's bound on search's peak RSS, in bytes.
const searchPeakRSSLimit = 40e6

// BenchmarkSearchWholeMarket runs the built binary's `search` against a whole market served on
// loopback, once per output format and iteration, and reports its peak RSS (the largest seen),
// wall time and CPU time (user and system; medians). It fails when the peak passes 40 MB.
//
// With VASTWATCH_BENCH_BASELINE naming another vastwatch binary (an older build), each
// iteration runs that binary too, interleaved, reports its figures beside, checks that both
// print the same CSV and JSON, and logs when this build took longer or more CPU (medians). Most
// of a search's CPU is decoding the reply, so the two builds' times are close where their
// decoders are: on a machine shared with other work, a failure there would follow its load.
//
//	go test -run '^$' -bench SearchWholeMarket -benchtime 5x ./cmd/vastwatch/
func BenchmarkSearchWholeMarket(b *testing.B) {
	bins := []benchBinary{{"", buildBench(b, "vastwatch", "./cmd/vastwatch", "-ldflags=-s -w")}}
	if base := os.Getenv("VASTWATCH_BENCH_BASELINE"); base != "" {
		bins = append(bins, benchBinary{"base_", base})
	}
	launcher := buildBench(b, "maxrss", "./cmd/vastwatch/testdata/maxrss")
	url := serveWholeMarket(b, wholeMarketOffers)

	for _, format := range []string{"csv", "json", "table"} {
		b.Run("output="+format, func(b *testing.B) {
			runs := make([][]searchRun, len(bins))
			for range b.N {
				for i, bin := range bins {
					runs[i] = append(runs[i], runBenchSearch(b, launcher, bin.path, url, format))
				}
			}
			b.StopTimer()
			for i, bin := range bins {
				peak := slices.MaxFunc(runs[i], func(x, y searchRun) int { return x.peakRSS - y.peakRSS }).peakRSS
				b.ReportMetric(float64(peak)/1e6, bin.prefix+"peak-RSS-MB")
				b.ReportMetric(median(runs[i], func(r searchRun) time.Duration { return r.wall }).Seconds(), bin.prefix+"wall-s")
				b.ReportMetric(median(runs[i], func(r searchRun) time.Duration { return r.cpu }).Seconds(), bin.prefix+"cpu-s")
				b.ReportMetric(float64(runs[i][0].bytes)/1e6, bin.prefix+"output-MB")
			}
			if peak := slices.MaxFunc(runs[0], func(x, y searchRun) int { return x.peakRSS - y.peakRSS }).peakRSS; peak > searchPeakRSSLimit {
				b.Errorf("search -o %s peaked at %.1f MB RSS, over the %.0f MB of docs/design.md §11", format, float64(peak)/1e6, searchPeakRSSLimit/1e6)
			}
			if len(bins) == 1 {
				return
			}
			if format != "table" && runs[0][0].crc != runs[1][0].crc {
				b.Errorf("search -o %s printed other bytes than the baseline (%d and %d bytes)", format, runs[0][0].bytes, runs[1][0].bytes)
			}
			for _, m := range []struct {
				what string
				of   func(searchRun) time.Duration
			}{{"wall time", func(r searchRun) time.Duration { return r.wall }}, {"CPU", func(r searchRun) time.Duration { return r.cpu }}} {
				if ours, base := median(runs[0], m.of), median(runs[1], m.of); ours > base {
					b.Logf("search -o %s took %v of %s (median), the baseline %v", format, ours, m.what, base)
				}
			}
		})
	}
}

type benchBinary struct{ prefix, path string }

// searchRun is one search: what the launcher measured and what the search printed.
type searchRun struct {
	peakRSS int // bytes
	wall    time.Duration
	cpu     time.Duration // user and system
	bytes   int64
	crc     uint32
}

func median(runs []searchRun, of func(searchRun) time.Duration) time.Duration {
	d := make([]time.Duration, len(runs))
	for i, r := range runs {
		d[i] = of(r)
	}
	slices.Sort(d)
	return d[len(d)/2]
}

// buildBench builds a package of this module into the benchmark's temporary directory, as the
// release does (CGO_ENABLED=0, -trimpath).
func buildBench(b *testing.B, name, pkg string, flags ...string) string {
	b.Helper()
	out := filepath.Join(b.TempDir(), name)
	cmd := exec.Command("go", append(append([]string{"build", "-trimpath"}, flags...), "-o", out, pkg)...)
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build %s: %v\n%s", pkg, err, msg)
	}
	return out
}

// serveWholeMarket serves a search reply of n offers, generated as it is sent, on loopback.
func serveWholeMarket(b *testing.B, n int) string {
	b.Helper()
	raw, err := vastapitest.ReadRealOffers(filepath.Join("..", "..", vastapitest.RealSearchPath))
	if err != nil {
		b.Fatal(err)
	}
	gen, err := vastapitest.NewOfferStream(raw, n)
	if err != nil {
		b.Fatal(err)
	}
	size := strconv.FormatInt(gen.Size(), 10)
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/api/v0/bundles/" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		reply := gen.Clone()
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", size)
		_, _ = io.Copy(w, reply)
	}))
	b.Cleanup(srv.Close)
	b.Logf("market: %d offers, %s bytes, at %s", n, size, srv.URL)
	return srv.URL
}

// runBenchSearch runs `bin search --output format` through the launcher, reading its output
// from a pipe, and checks that the output is whole.
func runBenchSearch(b *testing.B, launcher, bin, url, format string) searchRun {
	b.Helper()
	result := filepath.Join(b.TempDir(), "result")
	cmd := exec.Command(launcher, result, bin, "search", "--output", format)
	cmd.Env = []string{"VASTWATCH_API_URL=" + url, "HOME=" + os.Getenv("HOME"), "PATH=" + os.Getenv("PATH")}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	out := &outputCheck{csv: format == "csv"}
	_, copyErr := io.Copy(out, stdout)
	if err := cmd.Wait(); err != nil || copyErr != nil {
		b.Fatalf("%s search --output %s: %v %v\n%s", bin, format, err, copyErr, stderr.String())
	}
	if err := out.whole(format, wholeMarketOffers); err != nil {
		b.Fatalf("%s search --output %s: %v", bin, format, err)
	}
	text, err := os.ReadFile(result)
	if err != nil {
		b.Fatal(err)
	}
	var kib, wall, cpu int64
	var code int
	if _, err := fmt.Sscan(string(text), &kib, &wall, &code, &cpu); err != nil || code != 0 {
		b.Fatalf("launcher result %q: %v", text, err)
	}
	return searchRun{peakRSS: int(kib) << 10, wall: time.Duration(wall), cpu: time.Duration(cpu), bytes: out.n, crc: out.crc}
}

// outputCheck counts and checksums a search's output, keeping its lines' count and its end.
// The checksum of CSV is over its rows with the location column as issue 20 prints it (the
// parts the host left empty left out: ", US" is US, nothing is "-"), so a build from before that
// change compares equal when every other byte is the same.
type outputCheck struct {
	csv     bool
	n       int64
	lines   int
	crc     uint32
	tail    []byte
	partial []byte // CSV: the line not yet ended
}

func (o *outputCheck) Write(p []byte) (int, error) {
	o.n += int64(len(p))
	o.lines += bytes.Count(p, []byte{'\n'})
	o.tail = append(o.tail, p[max(0, len(p)-200):]...)
	o.tail = o.tail[max(0, len(o.tail)-200):]
	if !o.csv {
		o.crc = crc32.Update(o.crc, crc32.IEEETable, p)
		return len(p), nil
	}
	o.partial = append(o.partial, p...)
	for {
		line, rest, ok := bytes.Cut(o.partial, []byte{'\n'})
		if !ok {
			break
		}
		row, err := csv.NewReader(bytes.NewReader(line)).Read()
		if err != nil {
			return 0, fmt.Errorf("csv line %q: %w", line, err)
		}
		if len(row) > csvLocation {
			row[csvLocation] = locationAsPrinted(row[csvLocation])
		}
		o.crc = crc32.Update(o.crc, crc32.IEEETable, []byte(strings.Join(row, "\x1f")+"\n"))
		o.partial = append(o.partial[:0], rest...)
	}
	return len(p), nil
}

// csvLocation is the index of search's CSV location column.
const csvLocation = 7

// locationAsPrinted is a location as search prints it since issue 20.
func locationAsPrinted(loc string) string {
	var kept []string
	for part := range strings.SplitSeq(loc, ",") {
		if part = strings.TrimSpace(part); part != "" {
			kept = append(kept, part)
		}
	}
	if len(kept) == 0 {
		return "-"
	}
	return strings.Join(kept, ", ")
}

// whole checks the output has every offer and its format's ending.
func (o *outputCheck) whole(format string, offers int) error {
	end := string(o.tail)
	switch format {
	case "csv":
		if o.lines != offers+1 {
			return fmt.Errorf("%d lines, want %d", o.lines, offers+1)
		}
	case "json":
		if !strings.HasSuffix(end, "\n  }\n]\n") {
			return fmt.Errorf("output ends %q", end)
		}
	default:
		// The closing line names the order since issue 20; a build from before says none.
		closing := regexp.MustCompile(fmt.Sprintf(`\n%d offers( by score \(highest first\))?; prices include 5 GB of storage\n$`, offers))
		if o.lines != offers+2 || !closing.MatchString(end) {
			return fmt.Errorf("%d lines ending %q", o.lines, end)
		}
	}
	return nil
}
