package vastsim

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// searchTemplates runs GET /template/ with filters (JSON) and cols (JSON, or "").
func (h *harness) searchTemplates(filters, cols string) map[string]any {
	h.t.Helper()
	path := "/api/v0/template/?select_filters=" + url.QueryEscape(filters)
	if cols != "" {
		path += "&select_cols=" + url.QueryEscape(cols)
	}
	r := h.do("GET", path, nil)
	if r.status != 200 {
		h.t.Fatalf("search %s: %d %s", filters, r.status, r.body)
	}
	return r.json(h.t)
}

func names(m map[string]any) []string {
	var out []string
	rows, _ := m["templates"].([]any)
	for _, r := range rows {
		out = append(out, fmt.Sprint(r.(map[string]any)["name"]))
	}
	return out
}

func TestTemplateSearchConditions(t *testing.T) {
	h := newHarness(t, quiet)
	for filters, want := range map[string][]string{
		`{}`:                                   {"PyTorch (Vast)", "NVIDIA CUDA", "vLLM", "Ubuntu 22.04"},
		`{"name": {"eq": "NVIDIA CUDA"}}`:      {"NVIDIA CUDA"},
		`{"count_created": {"gte": "268115"}}`: {"PyTorch (Vast)", "NVIDIA CUDA"},
		`{"runtype": {"in": ["args", "x"]}}`:   {"vLLM"},
		`{"recommended": {"neq": true}}`:       {"Ubuntu 22.04"},
		`{"use_ssh": {"eq": "true"}, "recommended_disk_space": {"lt": 30}}`: {"NVIDIA CUDA", "Ubuntu 22.04"},
		`{"id": {"notin": [183440, 183441]}, "args_str": {"neq": "x"}}`:     {"vLLM"}, // args_str null elsewhere
	} {
		if got := names(h.searchTemplates(filters, "")); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", filters, got, want)
		}
	}
	m := h.searchTemplates(`{"name": {"eq": "nothing"}}`, "")
	if m["success"] != false || m["msg"] != "No templates found" {
		t.Fatalf("no match: %v", m)
	}
	m = h.searchTemplates(`{"id": {"eq": 183442}}`, `["id", "hash_id"]`)
	row := m["templates"].([]any)[0].(map[string]any)
	if len(row) != 2 || len(fmt.Sprint(row["hash_id"])) != 32 {
		t.Fatalf("projection %v", row)
	}
	for _, bad := range []string{`{"nope": {"eq": 1}}`, `{"id": {"like": 1}}`, `[1]`, `{"id": {"in": 5}}`} {
		if r := h.do("GET", "/api/v0/template/?select_filters="+url.QueryEscape(bad), nil); r.status != 400 {
			t.Errorf("filters %s: %d %s", bad, r.status, r.body)
		}
	}
}

func TestTemplateCreate(t *testing.T) {
	var logs bytes.Buffer
	h := newHarness(t, Options{Seed: 11, DriftInterval: -1, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	body := `{"name": "mine", "image": "me/app", "env": "-p 9000:9000", "runtype": "ssh", "private": true,
		"recommended_disk_space": "24", "docker_login_user": "me", "docker_login_pass": "hunter2-registry-token"}`
	r := h.do("POST", "/api/v0/template/", body)
	m := r.json(t)
	tmpl, _ := m["template"].(map[string]any)
	if r.status != 200 || m["success"] != true || tmpl["recommended_disk_space"] != 24.0 || tmpl["tag"] != "latest" ||
		tmpl["creator_id"] != float64(simUserID) || tmpl["docker_login_pass"] != "********" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if strings.Contains(logs.String(), "hunter2") || strings.Contains(string(h.do("GET", "/api/v0/template/", nil).body), "hunter2") {
		t.Fatal("the registry password was echoed")
	}
	again := h.do("POST", "/api/v0/template/", body).json(t)
	if again["success"] != false || again["template"].(map[string]any)["id"] != tmpl["id"] ||
		!strings.HasPrefix(fmt.Sprint(again["msg"]), "Existing Template Found") {
		t.Fatalf("same content again: %v", again)
	}
	if got := names(h.searchTemplates(`{"private": {"eq": true}}`, "")); !slices.Equal(got, []string{"mine"}) {
		t.Fatalf("own private template: %q", got)
	}
	for _, bad := range []string{`{"image": "x"}`, `{"name": "x"}`, `{"name": "x", "image": "y", "colour": "red"}`,
		`{"name": "x", "image": "y", "runtype": "vm"}`, `{"name": "x", "image": "y", "recommended_disk_space": "lots"}`,
		`{"name": "x", "image": "` + strings.Repeat("y", maxTemplateField+1) + `"}`} {
		if r := h.do("POST", "/api/v0/template/", bad); r.status != 400 {
			t.Errorf("%.60s: %d %s", bad, r.status, r.body)
		}
	}
}

func TestUpdateTemplateAndRecycle(t *testing.T) {
	h := newHarness(t, quiet)
	o := h.rentable(func(o vastapi.Offer) bool { return o.DirectPortCount > 10 && o.DiskSpace >= 40 })
	id := h.mustCreate(o.ID, 10, 0)
	h.clk.Advance(2 * time.Minute)
	ports := func() []string {
		p, _ := h.show(id)["ports"].(map[string]any)
		return slices.Sorted(func(yield func(string) bool) {
			for k := range p {
				if !yield(k) {
					return
				}
			}
		})
	}
	if got := ports(); !slices.Equal(got, []string{"22/tcp"}) {
		t.Fatalf("ports before %q", got)
	}
	vllm := h.searchTemplates(`{"name": {"eq": "vLLM"}}`, "")["templates"].([]any)[0].(map[string]any)
	path := "/api/v0/instances/update_template/" + itoa(id) + "/"
	if m := h.do("PUT", path, fmt.Sprintf(`{"id": %d, "template_hash_id": "%s", "disk": 40}`, id, vllm["hash_id"])).json(t); m["success"] != true {
		t.Fatalf("update: %v", m)
	}
	in := h.show(id)
	if in["image_uuid"] != "vllm/vllm-openai:latest" || in["template_hash_id"] != vllm["hash_id"] || in["disk_space"] != 40.0 ||
		in["actual_status"] != "running" || !slices.Equal(ports(), []string{"22/tcp"}) {
		t.Fatalf("after update without recycle: %v %v %v %v %q", in["image_uuid"], in["template_hash_id"], in["disk_space"], in["actual_status"], ports())
	}
	if m := h.do("PUT", path, `{"recycle": true}`).json(t); m["success"] != true {
		t.Fatalf("recycle: %v", m)
	}
	if st := h.show(id)["actual_status"]; st != "loading" {
		t.Fatalf("recycled instance is %v", st)
	}
	h.clk.Advance(2 * time.Minute)
	if got := ports(); !slices.Equal(got, []string{"22/tcp", "8000/tcp"}) {
		t.Fatalf("ports after recycle %q, want the template's -p 8000:8000 mapped", got)
	}
	for body, want := range map[string]int{
		`{"disk": 4}`:                       400,
		`{"template_hash_id": "nope"}`:      404,
		`{"env": "-p 99999:1"}`:             400,
		`{"env": 5}`:                        400,
		`{"image": "a", "args": "--x --y"}`: 200,
	} {
		if r := h.do("PUT", path, body); r.status != want {
			t.Errorf("%s: %d %s, want %d", body, r.status, r.body, want)
		}
	}
	if args := h.show(id)["image_args"]; fmt.Sprint(args) != "[--x --y]" {
		t.Fatalf("args %v", args)
	}
	if r := h.do("PUT", "/api/v0/instances/update_template/999/", `{}`); r.status != 404 || r.json(t)["error"] != "not_found" {
		t.Fatalf("unknown instance: %d %s", r.status, r.body)
	}
	h.do("DELETE", "/api/v0/instances/"+itoa(id)+"/", `{}`)
	if r := h.do("GET", "/api/v0/instances/balance/"+itoa(id)+"/?owner=me", nil); r.status != 404 || r.json(t)["error"] != "no_such_instance" {
		t.Fatalf("deposit of a destroyed instance: %d %s", r.status, r.body)
	}
}

func TestDockerEnvReadsTheCLIsDockerOptions(t *testing.T) {
	got := dockerEnv(`-e TZ=UTC -p 8080:8080 -e 'MSG=a b=c' -h box --gpus all -v /data:/data -e BAD -p 22:22/udp`)
	want := vastapi.EnvPairs{{Name: "TZ", Value: "UTC"}, {Name: "-p 8080:8080", Value: "1"}, {Name: "'MSG", Value: "a b=c"},
		{Name: "-h", Value: "box"}, {Name: "-v /data:/data", Value: "1"}, {Name: "-p 22:22/udp", Value: "1"}}
	if !slices.Equal(got, want) {
		t.Fatalf("dockerEnv = %q\nwant        %q", got, want)
	}
}
