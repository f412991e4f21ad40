package vastsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// templateBody is a POST /template/ body: the columns a template has. Another column is refused,
// as the real API refuses invalid column names.
type templateBody struct {
	Name                 *string         `json:"name"`
	Image                *string         `json:"image"`
	Tag                  *string         `json:"tag"`
	Env                  *string         `json:"env"`
	Onstart              *string         `json:"onstart"`
	Runtype              *string         `json:"runtype"`
	ArgsStr              *string         `json:"args_str"`
	SSHDirect            *bool           `json:"ssh_direct"`
	JupDirect            *bool           `json:"jup_direct"`
	UseSSH               *bool           `json:"use_ssh"`
	UseJupyterLab        *bool           `json:"use_jupyter_lab"`
	JupyterDir           *string         `json:"jupyter_dir"`
	DockerLoginRepo      *string         `json:"docker_login_repo"`
	DockerLoginUser      *string         `json:"docker_login_user"`
	DockerLoginPass      *string         `json:"docker_login_pass"`
	ExtraFilters         json.RawMessage `json:"extra_filters"`
	RecommendedDiskSpace json.RawMessage `json:"recommended_disk_space"` // the CLI sends a string
	Readme               *string         `json:"readme"`
	ReadmeVisible        *bool           `json:"readme_visible"`
	Desc                 *string         `json:"desc"`
	Private              *bool           `json:"private"`
	Href                 *string         `json:"href"`
	Repo                 *string         `json:"repo"`
	HashID               *string         `json:"hash_id"`
	VolumeInfo           json.RawMessage `json:"volume_info"`
}

// templateColumns are the keys a create may carry.
var templateColumns = map[string]bool{
	"name": true, "image": true, "tag": true, "env": true, "onstart": true, "runtype": true, "args_str": true,
	"ssh_direct": true, "jup_direct": true, "use_ssh": true, "use_jupyter_lab": true, "jupyter_dir": true,
	"docker_login_repo": true, "docker_login_user": true, "docker_login_pass": true, "extra_filters": true,
	"recommended_disk_space": true, "readme": true, "readme_visible": true, "desc": true, "private": true,
	"href": true, "repo": true, "hash_id": true, "volume_info": true,
}

// maxTemplateField bounds every text column of a template.
const maxTemplateField = 8192

// parseTemplate checks a create body and builds the template it asks for (without id, creator
// or time); a refused body gets its reply.
func parseTemplate(body []byte) (*template, *reply) {
	refuse := func(msg string) (*template, *reply) {
		r := apiErr(400, "invalid_args", msg)
		return nil, &r
	}
	var cols map[string]json.RawMessage
	if err := json.Unmarshal(body, &cols); err != nil {
		return refuse("Invalid request body: " + err.Error())
	}
	var unknown []string
	for _, k := range sortedKeys(cols) {
		if !templateColumns[k] {
			unknown = append(unknown, k)
		}
		if len(cols[k]) > maxTemplateField+2 {
			return refuse(fmt.Sprintf("field %s exceeds max length (%d)", k, maxTemplateField))
		}
	}
	if len(unknown) > 0 {
		return refuse("Invalid column names: " + strings.Join(unknown, ", "))
	}
	var b templateBody
	if err := json.Unmarshal(body, &b); err != nil {
		return refuse("Invalid request body: " + err.Error())
	}
	switch {
	case b.Name == nil || strings.TrimSpace(*b.Name) == "":
		return refuse("Template name is required")
	case b.Image == nil || strings.TrimSpace(*b.Image) == "":
		return refuse("Template image is required")
	}
	t := &template{Name: *b.Name, Image: *b.Image, Tag: b.Tag, Env: b.Env, Onstart: b.Onstart, Runtype: "args",
		ArgsStr: b.ArgsStr, JupyterDir: b.JupyterDir, DockerLoginRepo: b.DockerLoginRepo, DockerLoginUser: b.DockerLoginUser,
		Readme: b.Readme, ReadmeVisible: true, Desc: b.Desc, Private: true, Href: b.Href, Repo: b.Repo,
		RecommendedDiskSpace: 8, ExtraFilters: json.RawMessage(`{}`)}
	if t.Tag == nil {
		t.Tag = strp("latest")
	}
	if b.Runtype != nil {
		if rt := *b.Runtype; rt != "ssh" && rt != "jupyter" && rt != "args" {
			return refuse(fmt.Sprintf("runtype %q is not ssh, jupyter or args", rt))
		}
		t.Runtype = *b.Runtype
	}
	for dst, src := range map[*bool]*bool{&t.SSHDirect: b.SSHDirect, &t.JupDirect: b.JupDirect, &t.UseSSH: b.UseSSH,
		&t.UseJupyterLab: b.UseJupyterLab, &t.ReadmeVisible: b.ReadmeVisible, &t.Private: b.Private} {
		if src != nil {
			*dst = *src
		}
	}
	if b.DockerLoginPass != nil && *b.DockerLoginPass != "" {
		t.DockerLoginPass = strp("********")
	}
	if len(b.ExtraFilters) > 0 && string(b.ExtraFilters) != "null" {
		var f map[string]any
		if json.Unmarshal(b.ExtraFilters, &f) != nil {
			return refuse("extra_filters is not a JSON object")
		}
		t.ExtraFilters = b.ExtraFilters
	}
	if d, ok, err := diskSpace(b.RecommendedDiskSpace); err != nil {
		return refuse(err.Error())
	} else if ok {
		t.RecommendedDiskSpace = d
	}
	return t, nil
}

// diskSpace reads recommended_disk_space: a number, a numeric string (what the CLI sends) or
// null; ok is false when none was given.
func diskSpace(raw json.RawMessage) (float64, bool, error) {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil || v == nil {
		return 0, false, nil
	}
	d, ok := number(v)
	if _, isBool := v.(bool); !ok || isBool || d <= 0 || d > 100_000 {
		return 0, false, fmt.Errorf("recommended_disk_space %s is not a number of GB", raw)
	}
	return d, true, nil
}

// handleCreateTemplate makes a template, or finds the one with the same content: then the reply
// is success:false "Existing Template Found", as on the real API.
func (s *Sim) handleCreateTemplate(_ *http.Request, body []byte, _ route) reply {
	t, rep := parseTemplate(body)
	if rep != nil {
		return *rep
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	t.HashID = t.contentHash()
	if old := s.templateByRef(t.HashID, 0); old != nil {
		return jsonReply(200, map[string]any{"success": false, "template": old,
			"msg": fmt.Sprintf("Existing Template Found: %d. User relationship added.", old.ID)})
	}
	own := 0
	for _, o := range s.acct.templates {
		if o.CreatorID == simUserID {
			own++
		}
	}
	if own >= maxUserTemplates {
		return apiErr(400, "invalid_args", fmt.Sprintf("An account holds at most %d templates.", maxUserTemplates))
	}
	s.acct.nextTmplID++
	t.ID, t.CreatorID, t.CreatedAt = s.acct.nextTmplID, simUserID, epoch(now)
	s.acct.templates = append(s.acct.templates, t)
	s.log.Info("template created", "id", t.ID, "hash_id", t.HashID)
	return jsonReply(200, map[string]any{"success": true, "template": t,
		"msg": "Template Created Successfully! New Template ID: " + strconv.FormatInt(t.ID, 10)})
}
