package kubestate

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// claimAttempts bounds a claim's read-then-update retries when the ConfigMap keeps changing
// under it (a deposed leader's last writes, an operator's edit).
const claimAttempts = 5

// Claim makes this replica the state's writer for the term in which it now holds the Lease: it
// reads the ConfigMap (creating it empty when absent) and updates it, at the resourceVersion it
// read, with its term. Call it on gaining leadership, before the state is read and before any
// action: a deposed leader's write either landed before the claim's update, and the read after
// the claim sees it, or it carries an older resourceVersion and fails. A ConfigMap of another
// API is refused.
func (s *Store) Claim(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cm, s.term, s.unsure = nil, "", false
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	term, err := s.heldTerm(ctx)
	if err != nil {
		return err
	}
	for range claimAttempts {
		cur, err := s.current(ctx)
		if err != nil {
			return err
		}
		if err := s.sameAPI(cur); err != nil {
			return err
		}
		next := cur.DeepCopy()
		if next.Annotations == nil {
			next.Annotations = map[string]string{}
		}
		next.Annotations[TermAnnotation] = term
		next.Annotations[APIAnnotation] = s.cfg.API
		got, err := s.cms.Update(ctx, next, metav1.UpdateOptions{})
		switch {
		case err == nil:
			s.cm, s.term = got, term
			return nil
		case apierrors.IsConflict(err):
			continue // written since we read it: read it again
		default:
			return fmt.Errorf("claim %s: %w", s.where(), err)
		}
	}
	return fmt.Errorf("claim %s: it changed under each of %d attempts", s.where(), claimAttempts)
}

// CheckAPI refuses a ConfigMap that holds the state of another API; an absent one passes. It
// writes nothing and needs no claim: a reader that is not the leader (vastwatch plan) calls it
// before it reads the state.
func (s *Store) CheckAPI(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	cm, err := s.cms.Get(ctx, s.cfg.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("read %s: %w", s.where(), err)
	}
	return s.sameAPI(cm)
}

// sameAPI refuses cm when it names another API than this store's.
func (s *Store) sameAPI(cm *corev1.ConfigMap) error {
	if api := cm.Annotations[APIAnnotation]; api != "" && api != s.cfg.API {
		return fmt.Errorf("%s holds the state of %s, not of %s: a state is never used against another API; "+
			"point --leader-elect.lease-name at another lease, or delete the configmap to start afresh", s.where(), api, s.cfg.API)
	}
	return nil
}

// current reads the ConfigMap, creating it empty when it does not exist.
func (s *Store) current(ctx context.Context) (*corev1.ConfigMap, error) {
	cur, err := s.cms.Get(ctx, s.cfg.Name, metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", s.where(), err)
		}
		return cur, nil
	}
	cur, err = s.cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
		Name: s.cfg.Name, Namespace: s.cfg.Namespace,
		Labels:      map[string]string{"app.kubernetes.io/name": "vastwatch", "app.kubernetes.io/component": "state"},
		Annotations: map[string]string{APIAnnotation: s.cfg.API},
	}}, metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err): // another replica made it meanwhile
		cur, err = s.cms.Get(ctx, s.cfg.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", s.where(), err)
		}
		return cur, nil
	case apierrors.IsForbidden(err):
		return nil, fmt.Errorf("%s does not exist and may not be created (%w): apply it with the manifests (deploy/kubernetes-ha ships it empty)", s.where(), err)
	case err != nil:
		return nil, fmt.Errorf("create %s: %w", s.where(), err)
	}
	return cur, nil
}

func (s *Store) where() string { return "configmap " + s.cfg.Namespace + "/" + s.cfg.Name }

// Write replaces the document name, durably: it returns nil only once the API server has
// acknowledged the update. Each attempt first reads the Lease, which must still name this
// replica's claimed term, then updates the ConfigMap at the resourceVersion this replica last
// read or wrote. A *FencedError means this replica no longer leads (or another term claimed the
// state): the claim is dropped and every later write fails until the next Claim.
func (s *Store) Write(name string, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cm == nil {
		return &FencedError{Reason: "this replica holds no claim on " + s.where() + " (it does not lead)"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	err := s.write(ctx, name, data)
	if err != nil && errors.As(err, new(*FencedError)) {
		s.cm, s.term, s.unsure = nil, "", false
	}
	return err
}

// write is Write's attempts: a conflict is retried once, after reading the ConfigMap again
// shows that it is still claimed by this term (an update of ours whose reply was lost, or an
// operator's edit). Callers hold mu.
func (s *Store) write(ctx context.Context, name string, data []byte) error {
	for attempt := 0; ; attempt++ {
		if s.unsure {
			if err := s.refresh(ctx); err != nil {
				return err
			}
		}
		term, err := s.heldTerm(ctx)
		if err != nil {
			return err
		}
		if term != s.term {
			return &FencedError{Reason: fmt.Sprintf("the lease is now in term %s, the state was claimed in %s", term, s.term)}
		}
		next := s.cm.DeepCopy()
		if err := put(next, name, data); err != nil {
			return fmt.Errorf("write %s: %w", s.Where(name), err)
		}
		if n := size(next); n > MaxBytes {
			return fmt.Errorf("write %s: the state would take %d bytes, over the %d a configmap may safely hold", s.Where(name), n, MaxBytes)
		}
		got, err := s.cms.Update(ctx, next, metav1.UpdateOptions{})
		switch {
		case err == nil:
			s.cm = got
			return nil
		case apierrors.IsConflict(err) && attempt == 0:
			s.unsure = true
		default:
			// The outcome is unknown (a timeout may hide an applied update): read before the
			// next write. The caller treats the document as not written.
			s.unsure = true
			return fmt.Errorf("write %s: %w", s.Where(name), err)
		}
	}
}

// refresh reads the ConfigMap again after a write of unknown outcome or a conflict: still
// claimed by this term, it is adopted; claimed by another, this replica was deposed.
func (s *Store) refresh(ctx context.Context) error {
	cur, err := s.cms.Get(ctx, s.cfg.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("read %s: %w", s.where(), err)
	}
	if got := cur.Annotations[TermAnnotation]; got != s.term {
		return &FencedError{Reason: fmt.Sprintf("%s was claimed by term %s since term %s claimed it", s.where(), got, s.term)}
	}
	s.cm, s.unsure = cur, false
	return nil
}
