package vastapi

import (
	"testing"
	"time"
)

func TestNewFillsSaneDefaults(t *testing.T) {
	c, err := New(Config{BaseURL: "https://console.vast.ai/"})
	if err != nil {
		t.Fatal(err)
	}
	if c.hc == nil || c.hc.Timeout != DefaultTimeout || c.ua != DefaultUserAgent || c.maxAttempts != DefaultMaxAttempts ||
		c.maxBackoff != DefaultMaxBackoff || c.maxBody != DefaultMaxBodyBytes || c.base != "https://console.vast.ai" {
		t.Fatalf("defaults: timeout %v ua %q attempts %d backoff %v body %d base %q", c.hc.Timeout, c.ua, c.maxAttempts, c.maxBackoff, c.maxBody, c.base)
	}
	if c.pacer.intervals["POST "+EPSearch] != SearchMinInterval {
		t.Fatalf("default pacing not applied")
	}
}

func TestClientKeepsItsOwnCopyOfThePacing(t *testing.T) {
	m := map[string]time.Duration{"GET " + EPCurrentUser: time.Second}
	c, err := New(Config{BaseURL: "https://console.vast.ai", Pacing: m})
	if err != nil {
		t.Fatal(err)
	}
	m["GET "+EPCurrentUser] = time.Hour
	if c.pacer.intervals["GET "+EPCurrentUser] != time.Second {
		t.Fatalf("the client shares the pacing map it was given")
	}
}
