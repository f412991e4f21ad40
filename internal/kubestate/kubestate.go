// Package kubestate keeps the scaler's state (the journal and the spend book) in one Kubernetes
// ConfigMap in the namespace of the leader election's Lease, so that a failover hands it to the
// next leader (docs/design.md §7). Only the holder of the Lease writes it: a write carries the
// resourceVersion this replica last read or wrote, and is sent only after the Lease was read and
// still names this replica's term; a new leader claims the ConfigMap for its term before it
// acts, so a write of the replica it deposed fails even when that replica has not noticed yet.
// Every replica may read it. It never plans, scales or talks to the Vast.ai API, and imports no
// vastwatch package but the clock.
package kubestate

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vastwatch/vastwatch/internal/clock"
)

// The ConfigMap's annotations.
const (
	// TermAnnotation names the term that claimed the state last: the Lease's holder, its
	// transitions and its acquire time when that holder claimed it.
	TermAnnotation = "vastwatch.io/term"
	// APIAnnotation names the API the state belongs to (docs/design.md §7): a state is never
	// used against another.
	APIAnnotation = "vastwatch.io/api"
)

// MaxBytes bounds the documents of the ConfigMap together. The API server refuses a ConfigMap
// whose data exceed 1 MiB; a write beyond this bound is refused here first, with its size, so
// that a state grown too large is said plainly (the scaler prunes what is settled long before).
const MaxBytes = 900 << 10

// PlainMax is the largest document kept as plain JSON under data, readable with kubectl; a
// larger one is kept gzipped under binaryData, its key the document's name plus ".gz", which
// holds several times as much (a journal compresses about tenfold).
const PlainMax = 256 << 10

// gzSuffix marks a gzipped document's key; maxDocument bounds what one may decompress to.
const (
	gzSuffix    = ".gz"
	maxDocument = 64 << 20
)

// DefaultTimeout bounds each request to the API server.
const DefaultTimeout = 10 * time.Second

// Config names the ConfigMap, the Lease that fences it and this replica.
type Config struct {
	// Namespace holds both the ConfigMap (Name) and the Lease (LeaseName).
	Namespace, Name, LeaseName string
	// Identity is this replica's name in the Lease.
	Identity string
	// API is the API the state belongs to; a ConfigMap of another API is refused at Claim.
	API string
	// Clock says whether the Lease has expired (nil: clock.Real{}).
	Clock clock.Clock
	// Timeout bounds each request (0: DefaultTimeout).
	Timeout time.Duration
}

// Store is the state's Kubernetes backend; it satisfies scaler.Store. Read may be called by
// any replica at any time; Write succeeds only between a Claim and the end of the term it
// claimed for.
type Store struct {
	cfg    Config
	cms    ConfigMaps
	leases Leases

	mu sync.Mutex
	// cm is the ConfigMap as this replica last claimed or wrote it; nil while it holds no
	// claim, and then it writes nothing.
	cm *corev1.ConfigMap
	// term is the term cm was claimed for.
	term string
	// unsure is set after a write whose outcome is unknown (it may have been applied): the
	// next write reads the ConfigMap first.
	unsure bool
}

// New returns a Store that has not yet contacted the API server; cms and leases are the
// ConfigMaps and the Leases of cfg.Namespace.
func New(cfg Config, cms ConfigMaps, leases Leases) (*Store, error) {
	if cfg.Namespace == "" || cfg.Name == "" || cfg.LeaseName == "" || cfg.Identity == "" {
		return nil, fmt.Errorf("state configmap: namespace %q, name %q, lease %q and identity %q must all be set",
			cfg.Namespace, cfg.Name, cfg.LeaseName, cfg.Identity)
	}
	if cms == nil || leases == nil {
		return nil, errors.New("state configmap: no kubernetes client")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	return &Store{cfg: cfg, cms: cms, leases: leases}, nil
}

// FencedError is a write or claim refused because this replica does not hold the Lease, or
// because another term claimed the state since this replica did: the write of a deposed leader.
type FencedError struct{ Reason string }

func (e *FencedError) Error() string { return "state write refused: " + e.Reason }

// Where names a document: the ConfigMap and its key.
func (s *Store) Where(name string) string {
	return "configmap " + s.cfg.Namespace + "/" + s.cfg.Name + " key " + name
}

// Read returns a document as stored now; fs.ErrNotExist when the ConfigMap or the key is
// absent. It writes nothing and needs no claim.
func (s *Store) Read(name string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	cm, err := s.cms.Get(ctx, s.cfg.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("%s: %w", s.Where(name), fs.ErrNotExist)
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", s.Where(name), err)
	}
	if v, ok := cm.Data[name]; ok {
		return []byte(v), nil
	}
	gz, ok := cm.BinaryData[name+gzSuffix]
	if !ok {
		return nil, fmt.Errorf("%s: %w", s.Where(name), fs.ErrNotExist)
	}
	b, err := gunzip(gz)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", s.Where(name+gzSuffix), err)
	}
	return b, nil
}

// put sets the document name of cm: plain up to PlainMax, else gzipped.
func put(cm *corev1.ConfigMap, name string, data []byte) error {
	if len(data) <= PlainMax {
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data[name] = string(data)
		delete(cm.BinaryData, name+gzSuffix)
		return nil
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if cm.BinaryData == nil {
		cm.BinaryData = map[string][]byte{}
	}
	cm.BinaryData[name+gzSuffix] = buf.Bytes()
	delete(cm.Data, name)
	return nil
}

// gunzip decompresses a document, refusing one beyond maxDocument.
func gunzip(gz []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(zr, maxDocument+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxDocument {
		return nil, fmt.Errorf("decompresses to more than %d bytes", maxDocument)
	}
	return b, nil
}

// Drop forgets the claim: nothing is written until the next Claim. Call it when leadership
// ends; a write after it fails even before the Lease is asked.
func (s *Store) Drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cm, s.term, s.unsure = nil, "", false
}

// Claimed reports whether this replica holds a claim (it may still be refused by the Lease).
func (s *Store) Claimed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cm != nil
}

// heldTerm reads the Lease and returns the term this replica holds it in; a *FencedError when
// another holds it or it has expired.
func (s *Store) heldTerm(ctx context.Context) (string, error) {
	l, err := s.leases.Get(ctx, s.cfg.LeaseName, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("read lease %s/%s: %w", s.cfg.Namespace, s.cfg.LeaseName, err)
	}
	return termOf(&l.Spec, s.cfg.Identity, s.cfg.Clock.Now())
}

// termOf is the term of identity's valid hold of the Lease spec at now.
func termOf(spec *coordinationv1.LeaseSpec, identity string, now time.Time) (string, error) {
	holder := ""
	if spec.HolderIdentity != nil {
		holder = *spec.HolderIdentity
	}
	if holder != identity {
		return "", &FencedError{Reason: fmt.Sprintf("the lease is held by %q, not by %q", holder, identity)}
	}
	if spec.RenewTime == nil || spec.LeaseDurationSeconds == nil {
		return "", &FencedError{Reason: "the lease has no renew time or duration"}
	}
	if end := spec.RenewTime.Add(time.Duration(*spec.LeaseDurationSeconds) * time.Second); !now.Before(end) {
		return "", &FencedError{Reason: fmt.Sprintf("the lease expired at %s", end.UTC().Format(time.RFC3339))}
	}
	transitions, acquired := int32(0), int64(0)
	if spec.LeaseTransitions != nil {
		transitions = *spec.LeaseTransitions
	}
	if spec.AcquireTime != nil {
		acquired = spec.AcquireTime.UnixMicro()
	}
	return holder + "/" + strconv.Itoa(int(transitions)) + "/" + strconv.FormatInt(acquired, 10), nil
}

// size is what the API server counts against its 1 MiB: every key and value of the data.
func size(cm *corev1.ConfigMap) int {
	n := 0
	for k, v := range cm.Data {
		n += len(k) + len(v)
	}
	for k, v := range cm.BinaryData {
		n += len(k) + len(v)
	}
	return n
}
