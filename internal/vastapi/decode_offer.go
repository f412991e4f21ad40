package vastapi

import (
	"fmt"
	"io"
)

// decodeOffers streams a search reply, {"offers":[…]} (a bare array is accepted too), calling fn
// for each offer in order. The *Offer passed to fn is reused for the next offer: fn copies what
// it keeps. Other top-level keys are skipped, except the envelope keys, which env reports.
// delivered counts the offers fn accepted.
func decodeOffers(r io.Reader, fn func(*Offer) error) (env envelope, delivered int, err error) {
	s := newStreamScanner(r)
	var o Offer
	each := func() error {
		null, err := s.isNull()
		if err != nil || null {
			return err // a null element carries no offer
		}
		if c, _ := s.peek(); c != '{' {
			return fmt.Errorf("offer %d: %w", delivered, errType{"an object"})
		}
		o = Offer{}
		s.beginValue()
		if err := s.object(func(key []byte) error { return decodeOfferField(s, &o, key) }); err != nil {
			return fmt.Errorf("offer %d: %w", delivered, err)
		}
		if err := s.endValue(); err != nil {
			return fmt.Errorf("offer %d: %w", delivered, err)
		}
		if err := fn(&o); err != nil {
			return &callbackError{err}
		}
		delivered++
		return nil
	}
	list := func() error {
		null, err := s.isNull()
		if err != nil || null {
			return err
		}
		if c, _ := s.peek(); c != '[' {
			if err := s.skip(); err != nil {
				return err
			}
			return fmt.Errorf("offers: %w", errType{"a list"})
		}
		return s.array(each)
	}
	c, err := s.peek()
	if err != nil {
		return env, 0, err
	}
	switch c {
	case '[':
		err = list()
	case '{':
		err = s.object(func(key []byte) error {
			if string(key) == "offers" {
				return list()
			}
			return env.field(s, key)
		})
	default:
		return env, 0, s.syntax("reply is not a JSON object")
	}
	if err != nil {
		return env, delivered, err
	}
	if eof, err := s.atEOF(); err != nil || !eof {
		if err == nil {
			err = s.syntax("data after the reply")
		}
		return env, delivered, err
	}
	return env, delivered, nil
}

// callbackError carries an error of the caller's fn out of the decoder untouched.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }
func (e *callbackError) Unwrap() error { return e.err }

// UnmarshalJSON decodes one offer with the same decoder as the search stream: numbers quoted as
// strings and nulls where numbers belong are accepted, public_ipaddr is trimmed.
func (o *Offer) UnmarshalJSON(b []byte) error {
	s := newBytesScanner(b)
	null, err := s.isNull()
	if err != nil || null {
		return err
	}
	var v Offer
	if err := s.object(func(key []byte) error { return decodeOfferField(s, &v, key) }); err != nil {
		return fmt.Errorf("offer: %w", err)
	}
	if err := s.trailing(); err != nil {
		return fmt.Errorf("offer: %w", err)
	}
	*o = v
	return nil
}
