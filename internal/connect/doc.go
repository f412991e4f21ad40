// Package connect reaches the instances of vastwatch's fleets over ssh, for `vastwatch ssh` and
// `vastwatch ssh-config` (docs/design.md §2): it picks our running instances out of the account's
// instance list (by the owner tag in their labels, docs/design.md §6), writes an OpenSSH config
// with one Host block per instance, and builds and runs the system ssh's command line.
//
// It only reads: it never calls a mutating endpoint. Nothing from the API reaches a config file
// or a command line unchecked: hosts and ports pass vastapi.Instance.SSH's checks, fleet names
// the config's name rule, so an instance label or address cannot add an ssh option.
package connect
