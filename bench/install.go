package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Debian paths of the reference systems. The Lua module's .so files are what `load_module` needs;
// Debian normally enables them through /etc/nginx/modules-enabled, which the benchmark's own
// configuration does not read.
const (
	nginxBin    = "/usr/sbin/nginx"
	ndkModule   = "/usr/lib/nginx/modules/ndk_http_module.so"
	luaModule   = "/usr/lib/nginx/modules/ngx_http_lua_module.so"
	aptGetBin   = "apt-get"
	installWait = 4 * time.Minute
)

// tool is a Debian package the benchmark needs and how to tell it is installed.
type tool struct {
	pkg     string
	present func() bool
}

var (
	toolNginx = tool{"nginx", func() bool { return fileExists(nginxBin) }}
	toolLua   = tool{"libnginx-mod-http-lua", func() bool { return fileExists(luaModule) && fileExists(ndkModule) }}
	toolWrk   = tool{"wrk", func() bool { _, err := exec.LookPath("wrk"); return err == nil }}
)

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// ensureTools installs the missing ones with apt-get in one call (running `apt-get update` first
// only when the package lists do not know a package), and returns which are present afterwards.
// Installing needs root; any failure is reported, not fatal, so the caller decides what to skip.
// Debian images for containers ship a policy-rc.d that keeps the nginx package from starting the
// system service; without one, apt would start a system nginx on port 80, which this benchmark
// neither uses nor stops.
func ensureTools(ctx context.Context, allowInstall bool, tools ...tool) (map[string]bool, error) {
	have := map[string]bool{}
	var missing []string
	for _, t := range tools {
		have[t.pkg] = t.present()
		if !have[t.pkg] {
			missing = append(missing, t.pkg)
		}
	}
	if len(missing) == 0 {
		return have, nil
	}
	if !allowInstall {
		return have, fmt.Errorf("missing %s (installation disabled by -install=false)", strings.Join(missing, ", "))
	}
	if _, err := exec.LookPath(aptGetBin); err != nil {
		return have, fmt.Errorf("missing %s and no apt-get to install them", strings.Join(missing, ", "))
	}
	ctx, cancel := context.WithTimeout(ctx, installWait)
	defer cancel()
	fmt.Fprintf(os.Stderr, "bench: installing %s with apt-get\n", strings.Join(missing, " "))
	install := func() ([]byte, error) {
		args := append([]string{"install", "-y", "-q", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=120"}, missing...)
		cmd := exec.CommandContext(ctx, aptGetBin, args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return cmd.CombinedOutput()
	}
	out, err := install()
	if err != nil {
		upd := exec.CommandContext(ctx, aptGetBin, "update", "-q", "-o", "DPkg::Lock::Timeout=120")
		if uout, uerr := upd.CombinedOutput(); uerr != nil {
			return recheck(have, tools), fmt.Errorf("apt-get update: %v\n%s", uerr, tail(uout, 1500))
		}
		out, err = install()
	}
	have = recheck(have, tools)
	if err != nil {
		return have, fmt.Errorf("apt-get install %s: %v\n%s", strings.Join(missing, " "), err, tail(out, 1500))
	}
	return have, nil
}

func recheck(have map[string]bool, tools []tool) map[string]bool {
	for _, t := range tools {
		have[t.pkg] = t.present()
	}
	return have
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// toolVersion returns the first line of a command's version output, for the report header.
func toolVersion(bin string, args ...string) string {
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil && len(out) == 0 {
		return "?"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}
