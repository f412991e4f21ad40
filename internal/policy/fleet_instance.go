package policy

import (
	"strconv"
	"strings"
)

// instance checks what each of the fleet's instances runs and builds its template. Secrets
// were resolved by the decoder; they are copied as Values and never printed.
func (c *fleetCheck) instance(in *fileInstance) InstanceTemplate {
	p := c.p.dot(fleetInstance)
	switch {
	case in.Image == "" && in.TemplateHashID == "":
		c.fail(p.dot(instanceImage), "required unless instance.template_hash_id is set; allowed: a container image such as pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime")
	case len(in.Image) > MaxImageLen:
		c.fail(p.dot(instanceImage), "is %d characters long; allowed: at most %d", len(in.Image), MaxImageLen)
	}
	if in.DiskGB < MinDiskGB {
		c.fail(p.dot(instanceDiskGB), "%s GB is below the API's minimum; allowed: %d GB or more", money(in.DiskGB), MinDiskGB)
	}
	runtype := in.Runtype
	if in.TemplateHashID != "" && !c.isSet(p.dot(instanceRuntype)) {
		runtype = "" // a template brings its own launch mode
	}
	if runtype != "" && !contains(Runtypes, runtype) {
		c.fail(p.dot(instanceRuntype), "%s is not a runtype; allowed: %s", strconv.Quote(runtype), strings.Join(Runtypes, ", "))
	}
	if n := len(in.Onstart) + len(strings.Join(in.Args, " ")); n > MaxOnstartArgsLen {
		c.fail(p.dot(instanceOnstart), "onstart and args together are %d characters; allowed: at most %d", n, MaxOnstartArgsLen)
	}
	env := make([]EnvVar, 0, len(in.Env))
	for _, e := range in.Env {
		env = append(env, EnvVar{Name: e.Name, Value: e.Value.Value})
	}
	return InstanceTemplate{
		Image:          in.Image,
		DiskGB:         in.DiskGB,
		Runtype:        runtype,
		Onstart:        in.Onstart,
		Args:           append([]string(nil), in.Args...),
		Env:            env,
		ImageLogin:     in.ImageLogin.Value,
		TemplateHashID: in.TemplateHashID,
	}
}
