package vastapi

import (
	"fmt"
	"strings"
)

// envelope is what any reply may carry besides its payload: the success flag, an error code
// and message, and the create fields.
type envelope struct {
	Success        Opt[bool]
	Code           string
	Msg            string // msg, else message, else detail
	message        string
	detail         string
	NewContract    Opt[int64]
	AskID          int64
	InstanceAPIKey Secret
}

// failed reports a reply that says success:false.
func (e *envelope) failed() bool { return e.Success.Valid && !e.Success.V }

// text is the best human message of the reply.
func (e *envelope) text() string {
	switch {
	case e.Msg != "":
		return e.Msg
	case e.message != "":
		return e.message
	}
	return e.detail
}

// field reads an envelope key, or skips any other.
func (e *envelope) field(s *scanner, key []byte) error {
	switch string(key) {
	case "success":
		return fieldErr("success", s.looseBool(&e.Success))
	case "error":
		return fieldErr("error", s.text(&e.Code))
	case "msg":
		return fieldErr("msg", s.text(&e.Msg))
	case "message":
		return fieldErr("message", s.text(&e.message))
	case "detail":
		return fieldErr("detail", s.text(&e.detail))
	case "new_contract":
		return fieldErr("new_contract", s.optInt64(&e.NewContract))
	case "ask_id":
		return fieldErr("ask_id", s.int64(&e.AskID))
	case "instance_api_key":
		return fieldErr("instance_api_key", s.secret(&e.InstanceAPIKey))
	}
	return s.skip()
}

// looseBool reads true/false, "true"/"false", 1/0 or null.
func (s *scanner) looseBool(dst *Opt[bool]) error {
	c, err := s.peek()
	if err != nil {
		return err
	}
	switch c {
	case '"', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		v, ok, err := s.stringOrNumber()
		if err != nil || !ok {
			return err
		}
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true", "1":
			*dst = Some(true)
		case "false", "0":
			*dst = Some(false)
		default:
			return errType{"a boolean"}
		}
		return nil
	}
	return s.optBool(dst)
}

// maxMsg caps a message taken from a reply.
const maxMsg = 512

// text reads a message: a string, or any other value as its JSON text (FastAPI's detail can be
// a list). A streaming scanner (the search reply) cannot capture a value and notes its kind.
func (s *scanner) text(dst *string) error {
	c, err := s.peek()
	if err != nil {
		return err
	}
	if c == '"' || c == 'n' || c == '-' || (c >= '0' && c <= '9') {
		return s.str(dst)
	}
	if s.r != nil {
		*dst = "(a non-text value)"
		return s.skip()
	}
	raw, err := s.rawValue()
	if err != nil {
		return err
	}
	*dst = string(raw)
	return nil
}

// topObject decodes a reply that must be one JSON object.
func topObject(b []byte, fn func(s *scanner, key []byte) error) error {
	s := newBytesScanner(b)
	c, err := s.peek()
	if err != nil {
		return fmt.Errorf("empty reply: %w", err)
	}
	if c != '{' {
		return s.syntax("reply is not a JSON object")
	}
	if err := s.object(func(key []byte) error { return fn(s, key) }); err != nil {
		return err
	}
	return s.trailing()
}

// decodeEnvelope reads a reply that carries only the envelope (mutations, errors).
func decodeEnvelope(b []byte) (envelope, error) {
	var env envelope
	err := topObject(b, func(s *scanner, key []byte) error { return env.field(s, key) })
	return env, err
}

// decodeUserReply reads GET /users/current/. api_key is skipped by the User decoder.
func decodeUserReply(b []byte) (User, envelope, error) {
	var u User
	var env envelope
	err := topObject(b, func(s *scanner, key []byte) error {
		switch string(key) {
		case "success", "error", "msg", "message", "detail":
			return env.field(s, key)
		}
		return decodeUserField(s, &u, key)
	})
	return u, env, err
}

// decodeInstanceList reads the v1 and v0 instance lists.
func decodeInstanceList(b []byte) (list []Instance, next Opt[string], env envelope, err error) {
	err = topObject(b, func(s *scanner, key []byte) error {
		switch string(key) {
		case "instances":
			null, err := s.isNull()
			if err != nil || null {
				return err
			}
			if c, _ := s.peek(); c != '[' {
				if err := s.skip(); err != nil {
					return err
				}
				return fmt.Errorf("instances: %w", errType{"a list"})
			}
			return s.array(func() error {
				s.beginValue()
				inst, err := s.instance()
				if err == nil {
					err = s.endValue()
				}
				if err != nil {
					return fmt.Errorf("instance %d: %w", len(list), err)
				}
				list = append(list, *inst)
				return nil
			})
		case "next_token":
			return fieldErr("next_token", s.optStr(&next))
		}
		return env.field(s, key)
	})
	return list, next, env, err
}

// decodeShowInstance reads GET /instances/{id}/: {"instances":{…}}, or {"instances":null} for a
// gone instance (nil).
func decodeShowInstance(b []byte) (inst *Instance, env envelope, err error) {
	seen := false
	err = topObject(b, func(s *scanner, key []byte) error {
		if string(key) != "instances" {
			return env.field(s, key)
		}
		seen = true
		null, err := s.isNull()
		if err != nil || null {
			inst = nil
			return err
		}
		c, _ := s.peek()
		if c == '[' {
			// A list form: take its only element, none = gone.
			var list []*Instance
			err := s.array(func() error {
				in, err := s.instance()
				list = append(list, in)
				return err
			})
			if err != nil {
				return err
			}
			if len(list) > 1 {
				return fmt.Errorf("instances: want one instance, got %d", len(list))
			}
			inst = nil
			if len(list) == 1 {
				inst = list[0]
			}
			return nil
		}
		inst, err = s.instance()
		return err
	})
	if err == nil && !seen && !env.failed() {
		err = fmt.Errorf("reply has no instances key")
	}
	return inst, env, err
}
