package vastsim

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// template is a launch template as GET/POST /api/v0/template/ write it. docker_login_pass is
// never kept: a reply shows "********" when one was given.
type template struct {
	ID                   int64           `json:"id"`
	HashID               string          `json:"hash_id"`
	Name                 string          `json:"name"`
	Image                string          `json:"image"`
	Tag                  *string         `json:"tag"`
	Env                  *string         `json:"env"`
	Onstart              *string         `json:"onstart"`
	Runtype              string          `json:"runtype"`
	ArgsStr              *string         `json:"args_str"`
	SSHDirect            bool            `json:"ssh_direct"`
	JupDirect            bool            `json:"jup_direct"`
	UseSSH               bool            `json:"use_ssh"`
	UseJupyterLab        bool            `json:"use_jupyter_lab"`
	JupyterDir           *string         `json:"jupyter_dir"`
	DockerLoginRepo      *string         `json:"docker_login_repo"`
	DockerLoginUser      *string         `json:"docker_login_user"`
	DockerLoginPass      *string         `json:"docker_login_pass"`
	ExtraFilters         json.RawMessage `json:"extra_filters"`
	RecommendedDiskSpace float64         `json:"recommended_disk_space"`
	Readme               *string         `json:"readme"`
	ReadmeVisible        bool            `json:"readme_visible"`
	Desc                 *string         `json:"desc"`
	Private              bool            `json:"private"`
	Href                 *string         `json:"href"`
	Repo                 *string         `json:"repo"`
	CreatorID            int64           `json:"creator_id"`
	CreatedAt            float64         `json:"created_at"`
	CountCreated         int64           `json:"count_created"`
	RecentCreateDate     *float64        `json:"recent_create_date"`
	DefaultTag           *string         `json:"default_tag"`
	Recommended          bool            `json:"recommended"`
}

func strp(s string) *string { return &s }

// vastCreatorID owns the public catalogue, as Vast's own account owns its recommended templates.
const vastCreatorID = 62897

// publicTemplates is the fixed public catalogue a new simulator starts with: no seed, no clock.
func publicTemplates() []*template {
	recent := 1_796_000_000.0
	out := []*template{
		{ID: 183_440, Name: "PyTorch (Vast)", Image: "vastai/pytorch", Tag: strp("2.5.1-cuda-12.1.1"),
			Env: strp("-p 1111:1111 -p 8080:8080 -p 8384:8384"), Runtype: "ssh", SSHDirect: true, UseSSH: true,
			RecommendedDiskSpace: 32, ReadmeVisible: true, Desc: strp("PyTorch with CUDA, SSH and Jupyter."),
			CreatedAt: 1_730_000_000, CountCreated: 412_380, Recommended: true, DefaultTag: strp("2.5.1-cuda-12.1.1")},
		{ID: 183_441, Name: "NVIDIA CUDA", Image: "vastai/base-image", Tag: strp("cuda-12.4.1-auto"),
			Env: strp("-p 1111:1111 -p 8080:8080"), Runtype: "ssh", SSHDirect: true, UseSSH: true,
			RecommendedDiskSpace: 16, ReadmeVisible: true, Desc: strp("Ubuntu with the CUDA toolkit."),
			CreatedAt: 1_730_000_100, CountCreated: 268_115, Recommended: true, DefaultTag: strp("cuda-12.4.1-auto")},
		{ID: 183_442, Name: "vLLM", Image: "vllm/vllm-openai", Tag: strp("latest"),
			Env: strp("-p 8000:8000 -e MODEL_NAME=Qwen/Qwen2.5-7B-Instruct"), Runtype: "args",
			ArgsStr: strp("--model $MODEL_NAME"), RecommendedDiskSpace: 64, ReadmeVisible: true,
			Desc: strp("OpenAI-compatible LLM server."), CreatedAt: 1_730_000_200, CountCreated: 58_902, Recommended: true},
		{ID: 183_443, Name: "Ubuntu 22.04", Image: "ubuntu", Tag: strp("22.04"), Runtype: "ssh", UseSSH: true,
			RecommendedDiskSpace: 8, ReadmeVisible: true, CreatedAt: 1_730_000_300, CountCreated: 64},
	}
	for _, t := range out {
		t.CreatorID = vastCreatorID
		t.ExtraFilters = json.RawMessage(`{}`)
		t.RecentCreateDate = &recent
		t.HashID = t.contentHash()
	}
	return out
}

// contentHash is the template's hash_id: content-addressed (it changes with the content, as the
// real API's does), 32 hex digits.
func (t *template) contentHash() string {
	c := *t
	c.ID, c.HashID, c.CreatorID, c.CreatedAt, c.CountCreated = 0, "", 0, 0, 0
	c.RecentCreateDate, c.DefaultTag, c.Recommended = nil, nil, false
	b, _ := json.Marshal(c)
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

// visible reports whether the account can see (and use) t: public, or its own.
func (t *template) visible() bool { return !t.Private || t.CreatorID == simUserID }

// templateByRef finds a visible template by hash id (first) or numeric id. Callers hold s.mu.
func (s *Sim) templateByRef(hash string, id int64) *template {
	for _, t := range s.acct.templates {
		if t.visible() && (hash != "" && t.HashID == hash || hash == "" && id != 0 && t.ID == id) {
			return t
		}
	}
	return nil
}

// handleSearchTemplates answers GET /template/?select_filters=…&select_cols=…: the visible
// templates matching every condition, by id; {"success": false, "msg": "No templates found"}
// when none does, as on the real API. order_by is accepted and not applied.
func (s *Sim) handleSearchTemplates(r *http.Request, _ []byte, _ route) reply {
	q := r.URL.Query()
	var filters map[string]map[string]json.RawMessage
	if f := q.Get("select_filters"); f != "" {
		if err := json.Unmarshal([]byte(f), &filters); err != nil {
			return apiErr(400, "invalid_args", "select_filters is not a JSON object of {column: {op: value}}: "+err.Error())
		}
	}
	var cols []string
	if c := q.Get("select_cols"); c != "" {
		if err := json.Unmarshal([]byte(c), &cols); err != nil {
			return apiErr(400, "invalid_args", "select_cols is not a JSON list of columns: "+err.Error())
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now()
	var rows []map[string]any
	for _, t := range s.acct.templates {
		if !t.visible() {
			continue
		}
		row := templateRow(t)
		ok, err := matchRow(row, filters)
		if err != nil {
			return apiErr(400, "invalid_args", err.Error())
		}
		if ok {
			rows = append(rows, project(row, cols))
		}
	}
	if len(rows) == 0 {
		return jsonReply(200, map[string]any{"success": false, "msg": "No templates found"})
	}
	return jsonReply(200, map[string]any{"success": true, "templates_found": len(rows), "templates": rows})
}

// templateRow is t as a JSON object, the form conditions and projections apply to.
func templateRow(t *template) map[string]any {
	b, _ := json.Marshal(t)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func project(row map[string]any, cols []string) map[string]any {
	if len(cols) == 0 || slices.Contains(cols, "*") {
		return row
	}
	out := make(map[string]any, len(cols))
	for _, c := range cols {
		out[c] = row[c]
	}
	return out
}

// matchRow applies {column: {op: value}} conditions (eq neq lt lte gt gte in notin) to a row.
// Numeric strings equal the numbers they spell, as in an offer query; a null column matches no
// condition; a column templates do not have is an error.
func matchRow(row map[string]any, filters map[string]map[string]json.RawMessage) (bool, error) {
	for col, conds := range filters {
		v, ok := row[col]
		if !ok {
			return false, fmt.Errorf("templates have no column %q", col)
		}
		for op, raw := range conds {
			var want any
			if err := json.Unmarshal(raw, &want); err != nil {
				return false, fmt.Errorf("%s %s: %v", col, op, err)
			}
			m, err := matchCond(v, op, want)
			if err != nil {
				return false, fmt.Errorf("%s: %v", col, err)
			}
			if !m {
				return false, nil
			}
		}
	}
	return true, nil
}

func matchCond(v any, op string, want any) (bool, error) {
	switch op {
	case "in", "notin":
		list, ok := want.([]any)
		if !ok {
			return false, fmt.Errorf("%s needs a list", op)
		}
		hit := slices.ContainsFunc(list, func(w any) bool { return v != nil && sameValue(v, w) })
		return hit == (op == "in") && v != nil, nil
	case "eq":
		return v != nil && sameValue(v, want), nil
	case "neq":
		return v != nil && !sameValue(v, want), nil
	case "lt", "lte", "gt", "gte":
		a, okA := number(v)
		b, okB := number(want)
		if !okA || !okB {
			return false, nil
		}
		return op == "lt" && a < b || op == "lte" && a <= b || op == "gt" && a > b || op == "gte" && a >= b, nil
	}
	return false, fmt.Errorf("unknown operator %q", op)
}

func sameValue(a, b any) bool {
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// number reads a JSON number, a numeric string or a boolean (1, 0) as a float.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err == nil {
			return f, true
		}
		switch strings.ToLower(x) {
		case "true":
			return 1, true
		case "false":
			return 0, true
		}
	}
	return 0, false
}

// sortedKeys lists a map's keys in order, for messages that name them.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
