// Command staticmetrics serves fixed /metrics bodies with net/http and nothing else: the floor
// BenchmarkDaemonScrape sets the daemon's scrapes beside. It answers every request with the
// gzip body when the request accepts gzip, else with the plain one, each with its
// Content-Length, as the daemon does:
//
//	staticmetrics LISTEN-ADDRESS PLAIN-FILE GZIP-FILE
package main

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: staticmetrics LISTEN-ADDRESS PLAIN-FILE GZIP-FILE")
		os.Exit(2)
	}
	plain, err := os.ReadFile(os.Args[2])
	if err == nil {
		var gz []byte
		if gz, err = os.ReadFile(os.Args[3]); err == nil {
			err = http.ListenAndServe(os.Args[1], handler(plain, gz))
		}
	}
	fmt.Fprintln(os.Stderr, "staticmetrics:", err)
	os.Exit(1)
}

func handler(plain, gz []byte) http.Handler {
	plainLen, gzLen := []string{strconv.Itoa(len(plain))}, []string{strconv.Itoa(len(gz))}
	contentType := []string{"text/plain; version=0.0.4; charset=utf-8"}
	gzipEnc := []string{"gzip"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = contentType
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			h["Content-Encoding"], h["Content-Length"] = gzipEnc, gzLen
			_, _ = w.Write(gz)
			return
		}
		h["Content-Length"] = plainLen
		_, _ = w.Write(plain)
	})
}
