package deploy_test

import (
	"bufio"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vastwatch/vastwatch/deploy"
)

const (
	systemdUnit = "systemd/vastwatch.service"
	composeFile = "docker-compose.yml"
)

// unitFile is a parsed systemd unit: section → key → values in order (keys may repeat).
type unitFile map[string]map[string][]string

func parseUnit(t *testing.T, file string) unitFile {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unitFile{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
		case section == "":
			t.Fatalf("%s:%d: %q outside a section", file, n, line)
		case strings.HasSuffix(line, `\`):
			t.Fatalf("%s:%d: continued lines are not used here; keep one setting per line", file, n)
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s:%d: %q is not key=value", file, n, line)
			}
			u[section][strings.TrimSpace(k)] = append(u[section][strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	return u
}

func (u unitFile) get(section, key string) string {
	vs := u[section][key]
	if len(vs) == 0 {
		return "<unset>"
	}
	return vs[len(vs)-1]
}

func TestSystemdUnitIsHardened(t *testing.T) {
	u := parseUnit(t, systemdUnit)
	want := map[string]string{
		"DynamicUser":             "yes",
		"StateDirectory":          "vastwatch",
		"NoNewPrivileges":         "yes",
		"CapabilityBoundingSet":   "",
		"AmbientCapabilities":     "",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"PrivateDevices":          "yes",
		"ProtectKernelTunables":   "yes",
		"ProtectKernelModules":    "yes",
		"ProtectControlGroups":    "yes",
		"RestrictNamespaces":      "yes",
		"RestrictSUIDSGID":        "yes",
		"LockPersonality":         "yes",
		"MemoryDenyWriteExecute":  "yes",
		"SystemCallArchitectures": "native",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
		"UMask":                   "0077",
		"KillSignal":              "SIGTERM",
	}
	for k, v := range want {
		if got := u.get("Service", k); got != v {
			t.Errorf("%s=%s, want %s", k, got, v)
		}
	}
	if filters := u["Service"]["SystemCallFilter"]; !slices.Contains(filters, "@system-service") || !slices.Contains(filters, "~@privileged") {
		t.Errorf("SystemCallFilter %q, want @system-service and ~@privileged", filters)
	}

	exec := strings.Fields(u.get("Service", "ExecStart"))
	if len(exec) == 0 || path.Base(exec[0]) != "vastwatch" || !path.IsAbs(exec[0]) {
		t.Fatalf("ExecStart %q does not run vastwatch by absolute path", exec)
	}
	args := parseArgs(t, exec[1:])
	if args["state.dir"] != "/var/lib/"+u.get("Service", "StateDirectory") {
		t.Errorf("--state.dir=%s is not the StateDirectory", args["state.dir"])
	}
	if cfg := args["config.file"]; !strings.HasPrefix(cfg, "/etc/"+u.get("Service", "ConfigurationDirectory")+"/") {
		t.Errorf("--config.file=%s is not in the ConfigurationDirectory", cfg)
	}
	if _, ok := args["simulate"]; ok {
		t.Error("the service runs --simulate")
	}
	if r := u.get("Service", "ExecReload"); !strings.Contains(r, "-HUP $MAINPID") {
		t.Errorf("ExecReload=%s, want a SIGHUP to $MAINPID", r)
	}

	// The key arrives as a credential file, never in the environment.
	cred, _, _ := strings.Cut(u.get("Service", "LoadCredential"), ":")
	var keyFile string
	for _, e := range u["Service"]["Environment"] {
		k, v, _ := strings.Cut(e, "=")
		switch k {
		case "VAST_API_KEY":
			t.Error("Environment sets VAST_API_KEY; the key would show in systemctl show")
		case "VAST_API_KEY_FILE":
			keyFile = v
		}
	}
	if cred == "" || keyFile != "%d/"+cred {
		t.Errorf("VAST_API_KEY_FILE=%q does not name the credential %q (want %%d/%s)", keyFile, cred, cred)
	}
	if u.get("Install", "WantedBy") != "multi-user.target" {
		t.Errorf("WantedBy=%s", u.get("Install", "WantedBy"))
	}
}

// TestSystemdAnalyzeVerify lets systemd itself check the unit (unknown keys, bad values), with
// ExecStart pointed at an existing binary since vastwatch is not installed here.
func TestSystemdAnalyzeVerify(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed; TestSystemdUnitIsHardened still checks the unit")
	}
	truePath, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true binary to stand in for vastwatch")
	}
	b, err := os.ReadFile(systemdUnit)
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(t.TempDir(), "vastwatch.service")
	if err := os.WriteFile(unit, []byte(strings.ReplaceAll(string(b), "/usr/local/bin/vastwatch", truePath)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", unit).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// compose is the subset of the Compose file format the stack uses, decoded strictly.
type compose struct {
	Name     string                       `json:"name"`
	Services map[string]composeService    `json:"services"`
	Volumes  map[string]map[string]any    `json:"volumes"`
	Networks map[string]map[string]any    `json:"networks,omitempty"`
	Configs  map[string]map[string]string `json:"configs,omitempty"`
}

type composeService struct {
	Build *struct {
		Context    string `json:"context"`
		Dockerfile string `json:"dockerfile"`
	} `json:"build,omitempty"`
	Image       string            `json:"image"`
	Command     []string          `json:"command,omitempty"`
	Ports       []string          `json:"ports,omitempty"`
	Volumes     []string          `json:"volumes,omitempty"`
	Environment map[string]string `json:"environment,omitempty"`
	DependsOn   []string          `json:"depends_on,omitempty"`
	ReadOnly    bool              `json:"read_only,omitempty"`
	CapDrop     []string          `json:"cap_drop,omitempty"`
	SecurityOpt []string          `json:"security_opt,omitempty"`
	Restart     string            `json:"restart,omitempty"`
}

// mounts maps container path → host source (relative to deploy/ for bind mounts).
func (s composeService) mounts(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || len(parts) > 3 || (len(parts) == 3 && parts[2] != "ro") {
			t.Errorf("volume %q is not SOURCE:TARGET[:ro]", v)
			continue
		}
		out[parts[1]] = parts[0]
	}
	return out
}

type promConfig struct {
	Global struct {
		ScrapeInterval     string `json:"scrape_interval"`
		EvaluationInterval string `json:"evaluation_interval"`
	} `json:"global"`
	RuleFiles     []string `json:"rule_files"`
	ScrapeConfigs []struct {
		JobName       string `json:"job_name"`
		StaticConfigs []struct {
			Targets []string `json:"targets"`
		} `json:"static_configs"`
	} `json:"scrape_configs"`
}

type grafanaDatasources struct {
	APIVersion  int `json:"apiVersion"`
	Datasources []struct {
		Name      string            `json:"name"`
		UID       string            `json:"uid"`
		Type      string            `json:"type"`
		Access    string            `json:"access"`
		URL       string            `json:"url"`
		IsDefault bool              `json:"isDefault"`
		Editable  bool              `json:"editable"`
		JSONData  map[string]string `json:"jsonData"`
	} `json:"datasources"`
}

type grafanaDashboardProviders struct {
	APIVersion int `json:"apiVersion"`
	Providers  []struct {
		Name                  string `json:"name"`
		Folder                string `json:"folder"`
		Type                  string `json:"type"`
		DisableDeletion       bool   `json:"disableDeletion"`
		AllowUIUpdates        bool   `json:"allowUiUpdates"`
		UpdateIntervalSeconds int    `json:"updateIntervalSeconds"`
		Options               struct {
			Path                      string `json:"path"`
			FoldersFromFilesStructure bool   `json:"foldersFromFilesStructure"`
		} `json:"options"`
	} `json:"providers"`
}

func TestComposeStackIsWired(t *testing.T) {
	var c compose
	if err := decodeStrict(composeFile, &c); err != nil {
		t.Fatalf("%s: %v", composeFile, err)
	}
	vw, prom, graf := c.Services["vastwatch"], c.Services["prometheus"], c.Services["grafana"]
	if vw.Build == nil || prom.Image == "" || graf.Image == "" {
		t.Fatalf("want services vastwatch (built), prometheus and grafana; have %v", c.Services)
	}

	// Every bind-mounted file or directory exists.
	for name, s := range c.Services {
		for target, src := range s.mounts(t) {
			if strings.HasPrefix(src, ".") {
				if _, err := os.Stat(src); err != nil {
					t.Errorf("service %s mounts %s at %s: %v", name, src, target, err)
				}
			} else if _, ok := c.Volumes[src]; !ok {
				t.Errorf("service %s mounts undeclared volume %q", name, src)
			}
		}
	}

	t.Run("vastwatch runs simulated from the repository's Dockerfile", func(t *testing.T) {
		if _, err := os.Stat(filepath.Join(vw.Build.Context, vw.Build.Dockerfile)); err != nil {
			t.Errorf("build context %s has no %s: %v", vw.Build.Context, vw.Build.Dockerfile, err)
		}
		args := parseArgs(t, vw.Command)
		if _, ok := args["simulate"]; !ok {
			t.Error("vastwatch does not run --simulate: the demo stack must never rent")
		}
		if src, ok := vw.mounts(t)[args["state.dir"]]; !ok || strings.HasPrefix(src, ".") {
			t.Errorf("--state.dir=%s is not a named volume", args["state.dir"])
		}
		if !vw.ReadOnly || !slices.Contains(vw.CapDrop, "ALL") {
			t.Errorf("read_only %v, cap_drop %v; want a read-only container without capabilities", vw.ReadOnly, vw.CapDrop)
		}
	})

	t.Run("prometheus scrapes vastwatch with the rules loaded", func(t *testing.T) {
		var pc promConfig
		if err := decodeStrict(composePromConf, &pc); err != nil {
			t.Fatalf("%s: %v", composePromConf, err)
		}
		m := prom.mounts(t)
		var confTarget string
		for _, a := range prom.Command {
			if v, ok := strings.CutPrefix(a, "--config.file="); ok {
				confTarget = v
			}
		}
		if m[confTarget] != "./"+composePromConf {
			t.Errorf("--config.file=%s is mounted from %q, want ./%s", confTarget, m[confTarget], composePromConf)
		}
		for _, rf := range pc.RuleFiles {
			inContainer := path.Join(path.Dir(confTarget), rf)
			if m[inContainer] != "./"+ruleFile {
				t.Errorf("rule file %s resolves to %s in the container, mounted from %q, want ./%s", rf, inContainer, m[inContainer], ruleFile)
			}
		}
		if len(pc.RuleFiles) == 0 {
			t.Error("no rule_files")
		}
		found := false
		for _, sc := range pc.ScrapeConfigs {
			for _, st := range sc.StaticConfigs {
				if slices.Contains(st.Targets, "vastwatch:9861") {
					found = true
					if !strings.Contains(ruleExpr(t, "VastwatchDown"), `job="`+sc.JobName+`"`) {
						t.Errorf("scrape job %q is not the one VastwatchDown watches", sc.JobName)
					}
				}
			}
		}
		if !found {
			t.Error("no scrape job targets vastwatch:9861")
		}
	})

	t.Run("grafana provisions the datasource and every dashboard", func(t *testing.T) {
		m := graf.mounts(t)
		var ds grafanaDatasources
		var dp grafanaDashboardProviders
		dsDir, dpDir := m["/etc/grafana/provisioning/datasources"], m["/etc/grafana/provisioning/dashboards"]
		if err := decodeStrict(filepath.Join(dsDir, "vastwatch.yml"), &ds); err != nil {
			t.Fatalf("datasources: %v", err)
		}
		if err := decodeStrict(filepath.Join(dpDir, "vastwatch.yml"), &dp); err != nil {
			t.Fatalf("dashboard providers: %v", err)
		}
		if len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" || !ds.Datasources[0].IsDefault ||
			ds.Datasources[0].URL != "http://prometheus:9090" {
			t.Errorf("datasources %+v, want one default prometheus at http://prometheus:9090", ds.Datasources)
		}
		var pc promConfig
		if err := decodeStrict(composePromConf, &pc); err == nil && len(ds.Datasources) == 1 &&
			ds.Datasources[0].JSONData["timeInterval"] != pc.Global.ScrapeInterval {
			t.Errorf("datasource timeInterval %q, Prometheus scrape_interval %q", ds.Datasources[0].JSONData["timeInterval"], pc.Global.ScrapeInterval)
		}
		if len(dp.Providers) != 1 || dp.Providers[0].Type != "file" {
			t.Fatalf("providers %+v, want one file provider", dp.Providers)
		}
		dashPath := dp.Providers[0].Options.Path
		if m[dashPath] != "./"+deploy.DashboardDir {
			t.Errorf("provider path %s is mounted from %q, want ./%s", dashPath, m[dashPath], deploy.DashboardDir)
		}
		home := graf.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
		if rel, ok := strings.CutPrefix(home, dashPath+"/"); !ok {
			t.Errorf("home dashboard %s is outside %s", home, dashPath)
		} else if _, err := os.Stat(filepath.Join(deploy.DashboardDir, rel)); err != nil {
			t.Errorf("home dashboard: %v", err)
		}
	})
}
