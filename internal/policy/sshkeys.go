package policy

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// MaxSSHKeys bounds the keys one fleet's instances get (the top-level ones and the fleet's
// own): each is a request per new instance, paced at the API's published 2 s.
const MaxSSHKeys = 10

// sshKeyRule is what an ssh_keys item may be, for the messages.
const sshKeyRule = `an OpenSSH public key line such as "ssh-ed25519 AAAAC3Nza... you@laptop" (a .pub file's content), or {file: PATH} of a file holding such lines`

// sshKeyList is a list of ssh_keys: each item an OpenSSH public key line, or {file: PATH} of a
// file of them (one a line; blank lines and # comments skipped, as in authorized_keys). Each key
// is checked with vastapi.ParsePublicKey at load; a file is read relative to the config file.
type sshKeyList []sshKey

// sshKey is one public key of an ssh_keys list and where it was given.
type sshKey struct {
	Line string   // as vastapi.ParsePublicKey returned it
	Path yamlPath // ssh_keys[i], or ssh_keys[i].file for a key read from a file
	At   int      // the line of the item in the config file
}

// id is the key itself, without its comment: two lines with the same id are the same key.
func (k sshKey) id() string {
	f := strings.Fields(k.Line)
	return f[0] + " " + f[1]
}

func (l *sshKeyList) decodeNode(d *decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.SequenceNode {
		d.problem(path, n.Line, fmt.Sprintf("%s is not a list; allowed: a list of keys, each %s", scalarText(n), sshKeyRule))
		return
	}
	for i, item := range n.Content {
		p := yamlPath(path).at(i)
		item = resolveAlias(item)
		d.record(string(p), item.Line)
		switch {
		case item.Kind == yaml.ScalarNode && !isNull(item):
			key, err := vastapi.ParsePublicKey(item.Value)
			if err != nil {
				d.problem(string(p), item.Line, err.Error()+"; allowed: "+sshKeyRule)
				continue
			}
			*l = append(*l, sshKey{Line: key, Path: p, At: item.Line})
		case item.Kind == yaml.MappingNode && len(item.Content) == 2 && item.Content[0].Value == "file" && item.Content[1].Kind == yaml.ScalarNode:
			l.readFile(d, p.dot("file"), item.Content[1].Value, item.Line)
		default:
			d.problem(string(p), item.Line, fmt.Sprintf("%s is not a key; allowed: %s", scalarText(item), sshKeyRule))
		}
	}
}

// readFile adds the keys of the file at arg (relative to the config file's directory).
func (l *sshKeyList) readFile(d *decoder, p yamlPath, arg string, line int) {
	const fileRule = "a readable file of OpenSSH public keys, one a line (an absolute path, or one relative to the config file)"
	switch {
	case arg == "":
		d.problem(string(p), line, "empty path; allowed: "+fileRule)
		return
	case strings.HasPrefix(arg, "~"):
		d.problem(string(p), line, fmt.Sprintf("%s starts with ~, which is not expanded; allowed: %s", strconv.Quote(arg), fileRule))
		return
	}
	path := arg
	if !filepath.IsAbs(path) && d.baseDir != "" {
		path = filepath.Join(d.baseDir, path)
	}
	b, err := d.readFile(path)
	if err != nil {
		d.problem(string(p), line, fmt.Sprintf("file %s cannot be read (%s); allowed: %s", strconv.Quote(arg), errReason(err), fileRule))
		return
	}
	found := 0
	for i, text := range strings.Split(string(b), "\n") {
		text = strings.TrimSpace(text)
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		key, err := vastapi.ParsePublicKey(text)
		if err != nil {
			d.problem(string(p), line, fmt.Sprintf("line %d of %s: %s; allowed: %s", i+1, strconv.Quote(arg), err, fileRule))
			return
		}
		*l = append(*l, sshKey{Line: key, Path: p, At: line})
		found++
	}
	if found == 0 {
		d.problem(string(p), line, fmt.Sprintf("file %s holds no key; allowed: %s", strconv.Quote(arg), fileRule))
	}
}

// sshKeys checks the ssh_keys list own at p, and returns the key lines the instances get: top's,
// then own's. top are the top-level keys, which a fleet's list adds to (nil for the top-level
// list itself; its problems were reported with it). A key given twice, in own or in top and own,
// is a problem, and so are more than MaxSSHKeys.
func (v *validator) sshKeys(p yamlPath, own, top sshKeyList) []string {
	type seenKey struct {
		sshKey
		top bool
	}
	seen := map[string]seenKey{}
	var out []string
	for _, k := range top {
		if _, dup := seen[k.id()]; !dup {
			seen[k.id()] = seenKey{k, true}
			out = append(out, k.Line)
		}
	}
	fromTop := len(out)
	for _, k := range own {
		if first, dup := seen[k.id()]; dup {
			also := ""
			if first.top {
				also = ", which every fleet gets already"
			}
			v.bad(k.Path, "the same key as %s (line %d)%s; allowed: each key once", first.Path, first.At, also)
			continue
		}
		seen[k.id()] = seenKey{k, false}
		out = append(out, k.Line)
	}
	if len(out) > MaxSSHKeys && fromTop <= MaxSSHKeys {
		with := ""
		if fromTop > 0 {
			with = fmt.Sprintf(" with the %d top-level ones", fromTop)
		}
		v.bad(p, "%d keys%s; allowed: at most %d for a fleet's instances (each is one request per new instance)", len(out), with, MaxSSHKeys)
	}
	return out
}
