// Package config is Tollgate's configuration: every option has a flag, an environment variable
// (TOLLGATE_<NAME>), a default and one line of doc, so `tollgate serve -h` documents itself and
// `tollgate check-config` validates without starting anything. Flags win over the environment.
package config

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Config is the validated configuration of one Tollgate process.
type Config struct {
	Addr               string
	DataDir            string
	Region             string
	AccountID          string
	AccessKeyID        string
	SecretAccessKey    string
	MaxSkew            time.Duration
	InsecureSkipAuth   bool
	AccountRateLimit   float64
	AccountBurstLimit  int64
	LogLevel           string
	GatewayAddr        string
	FlushInterval      time.Duration
	RateLimitHeaders   bool
	QuotaFailOpen      bool
	Store              string // the store backend, see StoreBackend ("" = SQLite under DataDir)
	Engine             string
	Counters           string // redis://… for shared throttles ("" = local, or split across nodes)
	CountersFailure    string // what a Redis failure does: local, closed or open
	StoreDeadline      time.Duration
	CountersDeadline   time.Duration
	DebugAddr          string // loopback listener for net/http/pprof ("" = none)
	CredentialsFile    string // INI file of access key pairs for management and/or invoke ("" = none)
	ConfigFile         string // --config: the YAML file the options were read from ("" = none)
	LogFormat          string // text or json
	StatusAddr         string // listener of /healthz and /readyz ("" = none)
	MaxResourcesPerAPI int    // resources of one REST API, the root included (AWS's default quota: 300)
	MasterKeyFile      string // master key file sealing API key values ("" = DATA-DIR/master.key, created if missing)
	AccessLog          string // access-log destination: a file, "-" for stdout, "" for none
	TLSCertFile        string // PEM certificate chain: serve HTTPS on --addr and --gateway-addr
	TLSKeyFile         string // PEM private key of TLSCertFile
	AllowReset         bool   // POST /_tollgate/reset wipes all state (test suites)
	// Console serves the web console at /_tollgate/console/ (on ConsoleAddr when set, else on
	// the main listener).
	Console        bool
	ConsoleAddr    string
	LambdaEndpoint string // base URL of the Lambda Invoke API for AWS_PROXY integrations ("" = none)
	// CognitoEndpoint serves user pools' JWKS at {URL}/{poolId}/.well-known/jwks.json ("" =
	// AWS's https://cognito-idp.{region}.amazonaws.com).
	CognitoEndpoint string
	// Lambda credentials sign the Invoke calls (environment only); empty: the standard AWS_*
	// variables; none at all: unsigned.
	LambdaAccessKeyID, LambdaSecretAccessKey, LambdaSessionToken string

	// DefaultCredentials is true when the test/test credentials were filled in because none were
	// configured (only allowed on a loopback address).
	DefaultCredentials bool
}

// Default credentials for local use; refused unless the listener is on loopback.
const (
	DefaultAccessKeyID     = "test"
	DefaultSecretAccessKey = "test"
)

// option describes one setting.
type option struct {
	name, def, doc string
	kind           string // the value's type, shown by -h: "" (a string), bool, int, float, duration
	secret         bool   // from the environment only (never a flag: it would show in ps)
	set            func(c *Config, v string) error
}

var options = []option{
	{name: "addr", def: "127.0.0.1:4566", doc: "listen address of the management API and the data plane", set: func(c *Config, v string) error { c.Addr = v; return nil }},
	{name: "data-dir", def: "./tollgate-data", doc: "the node's directory: the embedded store (SQLite, WAL) and the usage journal, with PostgreSQL too", set: func(c *Config, v string) error { c.DataDir = v; return nil }},
	{name: "store", def: "", doc: "store backend: empty = SQLite under --data-dir; sqlite://PATH; postgres://… (one PostgreSQL database shared by several nodes; pass a password through PGPASSWORD or ~/.pgpass rather than a flag)", set: func(c *Config, v string) error { c.Store = v; return nil }},
	{name: "region", def: "us-east-1", doc: "default region (state is kept per region, taken from each request's SigV4 scope)", set: func(c *Config, v string) error { c.Region = v; return nil }},
	{name: "account-id", def: "000000000000", doc: "12-digit account id used in ARNs and messages", set: func(c *Config, v string) error { c.AccountID = v; return nil }},
	{name: "access-key-id", secret: true, doc: "management access key id (env TOLLGATE_ACCESS_KEY_ID); default test, loopback only", set: func(c *Config, v string) error { c.AccessKeyID = v; return nil }},
	{name: "secret-access-key", secret: true, doc: "management secret (env TOLLGATE_SECRET_ACCESS_KEY); default test, loopback only", set: func(c *Config, v string) error { c.SecretAccessKey = v; return nil }},
	{name: "max-skew", kind: "duration", def: "5m", doc: "allowed SigV4 clock skew (AWS API Gateway allows 5 minutes)", set: func(c *Config, v string) (err error) { c.MaxSkew, err = time.ParseDuration(v); return }},
	{name: "insecure-skip-auth", kind: "bool", def: "false", doc: "DEV ONLY: accept any well-formed signature from any access key", set: func(c *Config, v string) (err error) { c.InsecureSkipAuth, err = strconv.ParseBool(v); return }},
	{name: "account-rate-limit", kind: "float", def: "10000", doc: "account-level throttle rate (requests/s), shown by GetAccount", set: func(c *Config, v string) (err error) { c.AccountRateLimit, err = strconv.ParseFloat(v, 64); return }},
	{name: "account-burst-limit", kind: "int", def: "5000", doc: "account-level throttle burst, shown by GetAccount", set: func(c *Config, v string) (err error) { c.AccountBurstLimit, err = strconv.ParseInt(v, 10, 64); return }},
	{name: "gateway-addr", def: "", doc: "optional second listener that serves only the data plane (invocations); empty: none", set: func(c *Config, v string) error { c.GatewayAddr = v; return nil }},
	{name: "usage-flush-interval", kind: "duration", def: "", doc: "how often usage counts are written to the store (the usage journal keeps them across kill -9; a machine crash may lose this much; GetUsage flushes the answering node first); empty: 5s on the embedded store, 1s on PostgreSQL, where it is how late other nodes' GetUsage sees this node's usage", set: setFlushInterval},
	{name: "ratelimit-headers", kind: "bool", def: "false", doc: "beyond AWS: send IETF RateLimit-* headers, and Retry-After on 429s", set: func(c *Config, v string) (err error) { c.RateLimitHeaders, err = strconv.ParseBool(v); return }},
	{name: "quota-fail-open", kind: "bool", def: "false", doc: "admit requests when quota leases cannot be obtained from the store (default: fail closed, 503)", set: func(c *Config, v string) (err error) { c.QuotaFailOpen, err = strconv.ParseBool(v); return }},
	{name: "engine", def: "fasthttp", doc: "data-plane serving engine: fasthttp (measured faster), nethttp (Go's net/http) or gnet (event loops, one per core, plain HTTP only; what a loop must not wait for is served by fasthttp); the management API is net/http on every engine", set: func(c *Config, v string) error { c.Engine = v; return nil }},
	{name: "counters", def: "", doc: "redis://host:port/db: share throttle buckets between nodes through Redis (empty: in-process; on PostgreSQL, each node enforces its share of every limit)", set: func(c *Config, v string) error { c.Counters = v; return nil }},
	{name: "counters-failure", def: "local", doc: "when Redis fails or is slower than 50 ms: local (per-node buckets), closed (reject) or open (admit)", set: func(c *Config, v string) error { c.CountersFailure = v; return nil }},
	{name: "counters-deadline", kind: "duration", def: "50ms", doc: "the longest a throttle check waits for Redis before --counters-failure applies", set: func(c *Config, v string) (err error) { c.CountersDeadline, err = time.ParseDuration(v); return }},
	{name: "store-deadline", kind: "duration", def: "2s", doc: "the longest a data-plane request waits for the shared store (a quota lease) before the failure policy applies", set: func(c *Config, v string) (err error) { c.StoreDeadline, err = time.ParseDuration(v); return }},
	{name: "debug-addr", def: "", doc: "loopback address serving Go's profiler (/debug/pprof/) for diagnosing CPU and latency in production; empty: off", set: func(c *Config, v string) error { c.DebugAddr = v; return nil }},
	{name: "credentials-file", def: "", doc: "file of access key pairs (the INI shape of ~/.aws/credentials), each marked tollgate_use = management, invoke or both; re-read on SIGHUP", set: func(c *Config, v string) error { c.CredentialsFile = v; return nil }},
	{name: "master-key-file", def: "", doc: "file of the AES-256 master key that encrypts API key values at rest (base64, mode 0600); empty: DATA-DIR/master.key, generated at first start; required with a PostgreSQL store", set: func(c *Config, v string) error { c.MasterKeyFile = v; return nil }},
	{name: "max-resources-per-api", kind: "int", def: "300", doc: "resources one REST API may have, the root included (API Gateway's default quota); CreateResource and imports over it get LimitExceededException", set: func(c *Config, v string) (err error) { c.MaxResourcesPerAPI, err = strconv.Atoi(v); return }},
	{name: "log-format", def: "text", doc: "log line format: text (logfmt-style key=value) or json (one object per line, for log shippers)", set: func(c *Config, v string) error { c.LogFormat = v; return nil }},
	{name: "status-addr", def: "", doc: "status listener: /metrics (Prometheus), /healthz (liveness) and /readyz (503 until the configuration is loaded and while the store is unreachable); conventionally 127.0.0.1:9180 or :9180; empty: none", set: func(c *Config, v string) error { c.StatusAddr = v; return nil }},
	{name: "access-log", def: "", doc: "access log of the data plane, one line per request: a file path (reopened on SIGHUP, for logrotate) or - for standard output; a stage's accessLogSettings.format applies to its requests, others get a JSON line; empty: off", set: func(c *Config, v string) error { c.AccessLog = v; return nil }},
	{name: "tls-cert-file", def: "", doc: "PEM certificate (chain) to serve HTTPS on --addr and --gateway-addr, with --tls-key-file; both are re-read on SIGHUP; empty: plain HTTP", set: func(c *Config, v string) error { c.TLSCertFile = v; return nil }},
	{name: "tls-key-file", def: "", doc: "PEM private key of --tls-cert-file", set: func(c *Config, v string) error { c.TLSKeyFile = v; return nil }},
	{name: "lambda-endpoint", def: "", doc: "base URL of a Lambda Invoke API (AWS, LocalStack or any server speaking it) that AWS_PROXY Lambda integrations call: POST {URL}/2015-03-31/functions/{functionArn}/invocations, SigV4-signed for lambda when credentials are set; empty: such methods answer 500", set: func(c *Config, v string) error { c.LambdaEndpoint = v; return nil }},
	{name: "cognito-endpoint", def: "", doc: "base URL serving Cognito user pools' keys to COGNITO_USER_POOLS authorizers, at {URL}/{userPoolId}/.well-known/jwks.json; empty: AWS's https://cognito-idp.{region}.amazonaws.com (the issuer checked is always AWS's)", set: func(c *Config, v string) error { c.CognitoEndpoint = v; return nil }},
	{name: "lambda-access-key-id", secret: true, doc: "access key id signing Lambda invocations (env TOLLGATE_LAMBDA_ACCESS_KEY_ID; default AWS_ACCESS_KEY_ID)", set: func(c *Config, v string) error { c.LambdaAccessKeyID = v; return nil }},
	{name: "lambda-secret-access-key", secret: true, doc: "secret of --lambda-access-key-id (env TOLLGATE_LAMBDA_SECRET_ACCESS_KEY; default AWS_SECRET_ACCESS_KEY)", set: func(c *Config, v string) error { c.LambdaSecretAccessKey = v; return nil }},
	{name: "console", kind: "bool", def: "false", doc: "serve the web console at /_tollgate/console/ (sign-in with a management access key); on --console-addr when set, else on --addr", set: func(c *Config, v string) (err error) { c.Console, err = strconv.ParseBool(v); return }},
	{name: "console-addr", def: "", doc: "a listener of its own for the web console (recommended in production: bind it to an internal or loopback address); empty: the console, when on, is served on --addr", set: func(c *Config, v string) error { c.ConsoleAddr = v; return nil }},
	{name: "allow-reset", kind: "bool", def: "false", doc: "FOR TEST SUITES: POST /_tollgate/reset wipes all state (keys, plans, APIs, usage); unsigned from loopback, signed otherwise", set: func(c *Config, v string) (err error) { c.AllowReset, err = strconv.ParseBool(v); return }},
	{name: "log-level", def: "info", doc: "log level: debug, info, warn, error", set: func(c *Config, v string) error { c.LogLevel = v; return nil }},
}

// Names lists every option's name (the flag without "--"), secrets and --config included: what
// deployment files may use, as a flag, a config-file key or TOLLGATE_<NAME>.
func Names() []string {
	names := make([]string, 0, len(options)+1)
	for _, o := range options {
		names = append(names, o.name)
	}
	return append(names, "config")
}

// EnvName is the environment variable of an option: TOLLGATE_ + upper-case name with '_'.
func EnvName(name string) string {
	return "TOLLGATE_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// Load reads args (after the subcommand) and the environment (getenv) into a validated Config.
// Errors name the offending flag or variable.
func Load(cmd string, args []string, getenv func(string) string, usage io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("tollgate "+cmd, flag.ContinueOnError)
	// The flag package would print its error and then the whole option list on any bad flag,
	// burying the one line that matters; Load prints the list for -h only, and the caller
	// prints the error.
	fs.SetOutput(io.Discard)
	vals := map[string]*flagValue{}
	for _, o := range options {
		if o.secret {
			continue
		}
		v := &flagValue{kind: o.kind}
		vals[o.name] = v
		fs.Var(v, o.name, o.doc)
	}
	configFlag := &flagValue{}
	fs.Var(configFlag, "config", "YAML file of options, keyed by flag name (flags and environment win over it)")
	printUsage := func() {
		fmt.Fprintf(usage, "Usage: tollgate %s [flags]\n\nFlags:\n", cmd)
		for _, o := range options {
			if o.secret {
				continue
			}
			head := "  --" + o.name
			if o.kind != "bool" {
				head += " " + cmp.Or(o.kind, "string")
			}
			def := o.def
			if def == "" {
				def = "none"
			}
			fmt.Fprintf(usage, "%s\n    \t%s (env %s, default %s)\n", head, o.doc, EnvName(o.name), def)
		}
		fmt.Fprintf(usage, "  --config string\n    \tYAML file of these options, keyed by flag name; flags and environment win over it (env %s)\n", EnvName("config"))
		fmt.Fprintf(usage, "\nCredentials come from the environment only: %s, %s.\n", EnvName("access-key-id"), EnvName("secret-access-key"))
	}
	fs.Usage = func() {}
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		printUsage()
		return c, err
	} else if err != nil {
		return c, fmt.Errorf("%v (tollgate %s -h lists the options)", err, cmd)
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var file map[string]fileValue
	if path := cmp.Or(configFlag.raw, getenv(EnvName("config"))); path != "" {
		var err error
		if file, err = readFile(path); err != nil {
			return c, err
		}
		c.ConfigFile = path
	}
	for _, o := range options {
		v, src := o.def, "default"
		if f, ok := file[o.name]; ok {
			v, src = f.value, fmt.Sprintf("%s line %d", c.ConfigFile, f.line)
		}
		if e := getenv(EnvName(o.name)); e != "" {
			v, src = e, EnvName(o.name)
		}
		if p := vals[o.name]; p != nil && p.given {
			v, src = p.raw, "--"+o.name
		}
		if err := o.set(&c, v); err != nil {
			return c, fmt.Errorf("%s: invalid value %q: %v", src, v, err)
		}
	}
	if c.FlushInterval == 0 { // not set: by store
		c.FlushInterval = defaultFlushInterval(c)
	}
	if c.LambdaAccessKeyID == "" && c.LambdaSecretAccessKey == "" {
		c.LambdaAccessKeyID, c.LambdaSecretAccessKey = getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
		c.LambdaSessionToken = getenv("AWS_SESSION_TOKEN")
	}
	return c, c.validate()
}

// setFlushInterval sets --usage-flush-interval: a positive duration, or empty for the store's
// default.
func setFlushInterval(c *Config, v string) error {
	if v == "" {
		c.FlushInterval = 0
		return nil
	}
	d, err := time.ParseDuration(v)
	if err == nil && d <= 0 {
		err = errors.New("must be positive")
	}
	c.FlushInterval = d
	return err
}

// defaultFlushInterval is the usage flush interval when none is set. On the embedded store it is
// 5 s: its one node flushes before it answers GetUsage, so reports stay real time, a kill -9
// loses nothing (the usage journal), and a flush of 10,000 keys a second was the largest single
// cost a request paid (bench, gnet engine: 11% less CPU a request at 5 s than at 1 s, A/B). A
// machine crash may lose one interval. On PostgreSQL it is 1 s: there the interval is also how
// late the other nodes' GetUsage sees this node's requests.
func defaultFlushInterval(c Config) time.Duration {
	if kind, _, err := c.StoreBackend(); err == nil && kind == StorePostgres {
		return time.Second
	}
	return 5 * time.Second
}

// flagValue is one option's flag: typed for the flag parser (a bool flag stands alone,
// --ratelimit-headers; a bad number or duration is refused as it is parsed) while Load applies
// it, after the environment, through the option's setter.
type flagValue struct {
	kind  string
	raw   string
	given bool
}

func (v *flagValue) String() string { return v.raw }

// IsBoolFlag lets a bool option be given without a value.
func (v *flagValue) IsBoolFlag() bool { return v.kind == "bool" }

// Set checks the value against the option's kind.
func (v *flagValue) Set(s string) error {
	var err error
	switch v.kind {
	case "bool":
		_, err = strconv.ParseBool(s)
	case "int":
		_, err = strconv.ParseInt(s, 10, 64)
	case "float":
		_, err = strconv.ParseFloat(s, 64)
	case "duration":
		_, err = time.ParseDuration(s)
	}
	if err != nil {
		return fmt.Errorf("not a valid %s", v.kind)
	}
	v.raw, v.given = s, true
	return nil
}

// splitAddr splits a listen address and checks its port: a number from 0 (any free port) to
// 65535, which net.Listen would otherwise only refuse when serve starts.
func splitAddr(addr string) (host string, port int, err error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err = strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("port %q is not a number from 0 to 65535", p)
	}
	return host, port, nil
}

// sameAddr reports whether two listen addresses (valid for splitAddr) would collide: the same
// port on the same host, or on all interfaces on either side.
func sameAddr(a, b string) bool {
	ha, pa, _ := splitAddr(a)
	hb, pb, errb := splitAddr(b)
	if errb != nil || pa != pb {
		return false
	}
	any := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ha == hb || any(ha) || any(hb)
}

var (
	accountIDRe = regexp.MustCompile(`^[0-9]{12}$`)
	regionRe    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
)

func (c *Config) validate() error {
	var errs []error
	host, _, err := splitAddr(c.Addr)
	if err != nil {
		errs = append(errs, fmt.Errorf("--addr %q: %v", c.Addr, err))
	}
	if !accountIDRe.MatchString(c.AccountID) {
		errs = append(errs, fmt.Errorf("--account-id %q: must be 12 digits", c.AccountID))
	}
	if !regionRe.MatchString(c.Region) {
		errs = append(errs, fmt.Errorf("--region %q: not a region name like us-east-1", c.Region))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data-dir must not be empty"))
	}
	if kind, _, err := c.StoreBackend(); err != nil {
		errs = append(errs, err)
	} else if kind == StorePostgres && c.MasterKeyFile == "" {
		// Every node must seal and open with the same key; one generated per node would not be.
		errs = append(errs, errors.New("--master-key-file is required with a PostgreSQL store (every node needs the same master key)"))
	}
	if c.GatewayAddr != "" {
		if _, port, err := splitAddr(c.GatewayAddr); err != nil {
			errs = append(errs, fmt.Errorf("--gateway-addr %q: %v", c.GatewayAddr, err))
		} else if port != 0 && sameAddr(c.GatewayAddr, c.Addr) {
			errs = append(errs, fmt.Errorf("--gateway-addr %q is --addr: the two listeners need different addresses", c.GatewayAddr))
		}
	}
	if c.DebugAddr != "" {
		// Profiles show internals (and can cost CPU on demand): never off the machine.
		if h, _, err := splitAddr(c.DebugAddr); err != nil {
			errs = append(errs, fmt.Errorf("--debug-addr %q: %v", c.DebugAddr, err))
		} else if !IsLoopback(h) {
			errs = append(errs, fmt.Errorf("--debug-addr %q: must be a loopback address", c.DebugAddr))
		}
	}
	if c.CountersDeadline <= 0 {
		errs = append(errs, errors.New("--counters-deadline must be positive"))
	}
	if c.StoreDeadline <= 0 {
		errs = append(errs, errors.New("--store-deadline must be positive"))
	}
	if c.FlushInterval <= 0 {
		errs = append(errs, errors.New("--usage-flush-interval must be positive"))
	}
	if c.MaxResourcesPerAPI < 1 {
		errs = append(errs, errors.New("--max-resources-per-api must be at least 1 (the root resource)"))
	}
	if c.MaxSkew <= 0 {
		errs = append(errs, errors.New("--max-skew must be positive"))
	}
	if c.AccountRateLimit < 0 || c.AccountBurstLimit < 0 {
		errs = append(errs, errors.New("--account-rate-limit and --account-burst-limit must not be negative"))
	}
	switch c.Engine {
	case "fasthttp", "nethttp":
	case "gnet":
		if c.TLSCertFile != "" {
			errs = append(errs, errors.New("--engine gnet serves plain HTTP only: use fasthttp with --tls-cert-file, or terminate TLS in front"))
		}
	default:
		errs = append(errs, fmt.Errorf("--engine %q: one of fasthttp, nethttp, gnet", c.Engine))
	}
	if c.Counters != "" && !strings.HasPrefix(c.Counters, "redis://") && !strings.HasPrefix(c.Counters, "rediss://") {
		errs = append(errs, errors.New("--counters: must be a redis:// or rediss:// URL"))
	}
	switch c.CountersFailure {
	case "local", "closed", "open":
	default:
		errs = append(errs, fmt.Errorf("--counters-failure %q: one of local, closed, open", c.CountersFailure))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("--log-format %q: one of text, json", c.LogFormat))
	}
	if c.ConsoleAddr != "" {
		if !c.Console {
			errs = append(errs, errors.New("--console-addr needs --console"))
		}
		if _, port, err := splitAddr(c.ConsoleAddr); err != nil {
			errs = append(errs, fmt.Errorf("--console-addr %q: %v", c.ConsoleAddr, err))
		} else if port != 0 && (sameAddr(c.ConsoleAddr, c.Addr) || c.GatewayAddr != "" && sameAddr(c.ConsoleAddr, c.GatewayAddr) || c.StatusAddr != "" && sameAddr(c.ConsoleAddr, c.StatusAddr)) {
			errs = append(errs, fmt.Errorf("--console-addr %q is another listener's address", c.ConsoleAddr))
		}
	}
	if c.StatusAddr != "" {
		if _, port, err := splitAddr(c.StatusAddr); err != nil {
			errs = append(errs, fmt.Errorf("--status-addr %q: %v", c.StatusAddr, err))
		} else if port != 0 && (sameAddr(c.StatusAddr, c.Addr) || c.GatewayAddr != "" && sameAddr(c.StatusAddr, c.GatewayAddr)) {
			errs = append(errs, fmt.Errorf("--status-addr %q is another listener's address", c.StatusAddr))
		}
	}
	if c.LambdaEndpoint != "" {
		if u, err := url.Parse(c.LambdaEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--lambda-endpoint %q: must be an http:// or https:// URL", c.LambdaEndpoint))
		}
	}
	if c.CognitoEndpoint != "" {
		if u, err := url.Parse(c.CognitoEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--cognito-endpoint %q: must be an http:// or https:// URL", c.CognitoEndpoint))
		}
	}
	if (c.LambdaAccessKeyID == "") != (c.LambdaSecretAccessKey == "") {
		errs = append(errs, errors.New("the Lambda access key id and secret go together: set both or neither"))
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, errors.New("--tls-cert-file and --tls-key-file go together: set both or neither"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("--log-level %q: one of debug, info, warn, error", c.LogLevel))
	}
	switch {
	case (c.AccessKeyID == "") != (c.SecretAccessKey == ""):
		errs = append(errs, fmt.Errorf("set both %s and %s, or neither", EnvName("access-key-id"), EnvName("secret-access-key")))
	case c.AccessKeyID == "" && c.CredentialsFile != "":
		// The file's pairs are the credentials; no default pair.
	case c.AccessKeyID == "":
		if err == nil && !IsLoopback(host) {
			errs = append(errs, fmt.Errorf("--addr %s is not a loopback address: set %s and %s (the test/test default is for loopback only)",
				c.Addr, EnvName("access-key-id"), EnvName("secret-access-key")+" (or --credentials-file)"))
		}
		c.AccessKeyID, c.SecretAccessKey, c.DefaultCredentials = DefaultAccessKeyID, DefaultSecretAccessKey, true
	}
	return errors.Join(errs...)
}

// Store backends StoreBackend returns.
const (
	StoreSQLite   = "sqlite"
	StorePostgres = "postgres"
)

// StoreBackend returns the backend --store selects and what to open with it: the SQLite file
// path, or the PostgreSQL connection string. The string is checked without connecting, and
// errors never repeat it (it may hold a password; pgx redacts its own messages).
func (c Config) StoreBackend() (backend, target string, err error) {
	switch {
	case c.Store == "":
		return StoreSQLite, filepath.Join(c.DataDir, "tollgate.db"), nil
	case strings.HasPrefix(c.Store, "sqlite://"):
		path := strings.TrimPrefix(c.Store, "sqlite://")
		if path == "" || strings.ContainsAny(path, "?#") {
			return "", "", fmt.Errorf("--store %q: sqlite://PATH needs a plain file path (sqlite:///var/lib/tollgate/tollgate.db)", c.Store)
		}
		return StoreSQLite, path, nil
	case strings.HasPrefix(c.Store, "postgres://"), strings.HasPrefix(c.Store, "postgresql://"):
		if _, err := pgconn.ParseConfig(c.Store); err != nil {
			return "", "", fmt.Errorf("--store: invalid PostgreSQL connection string: %v", err)
		}
		return StorePostgres, c.Store, nil
	}
	what := "a value without a scheme"
	if scheme, _, ok := strings.Cut(c.Store, "://"); ok && !strings.ContainsAny(scheme, ":@/") {
		what = fmt.Sprintf("unknown scheme %q", scheme)
	}
	return "", "", fmt.Errorf("--store: %s: want sqlite://PATH, postgres://… or empty (SQLite under --data-dir)", what)
}

// IsLoopback reports whether a listen host only accepts local connections.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
