// Package config loads eng5np's settings with the precedence of
// docs/CONTRACT.md, "Commands": flags > environment (ENG5NP_<KEY>, and
// KAFKA_BOOTSTRAP_SERVERS) > config file (eng5np.yaml or --config) > defaults.
// Every key is declared once in keys.go; unknown keys and invalid values are
// errors naming the key, where the value came from, and what is accepted.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"eng5np/fault"
)

// Config is the effective configuration of one command.
type Config struct {
	Inputs       string
	OutputDir    string
	BatchLabel   string
	AssignmentID string
	CourseID     string
	GradeScale   string
	CourseCode   string
	Language     string

	MaxComparisons        int
	ServiceMaxComparisons int
	LLM                   LLM
	NoRubricOverride      bool
	Pricing               Pricing

	Stack             string
	Kafka             Kafka
	ContentServiceURL string
	CJServiceURL      string
	HTTPTimeout       time.Duration
	Auth              Auth
	UserID            string // who the LLM usage is billed to
	OrgID             string

	CompletionTimeout   time.Duration
	PostCompletionGrace time.Duration
	BudgetUSD           float64
	MetricsAddr         string
	MetricsLinger       time.Duration
	LogLevel            slog.Level // of the log lines on stderr
	NoKafka             bool
	NoTUI               bool

	DevStack DevStack

	// File is the config file that was read ("" when none).
	File string
	// sources records where each key's value came from; values how it reads.
	sources map[string]string
	values  map[string]string
}

// LLM holds the overrides sent to the CJ service.
type LLM struct {
	Provider         string
	Model            string
	Temperature      *float64
	MaxTokens        *int
	ReasoningEffort  string
	OutputVerbosity  string
	SystemPromptFile string
	// SystemPrompt is the text of SystemPromptFile, read when the config
	// loads.
	SystemPrompt string
}

// MaxSystemPromptBytes bounds a system prompt file: it travels in every
// comparison request.
const MaxSystemPromptBytes = 64 << 10

// Auth is how eng5np authenticates to the CJ admin API: a token it was
// given (looked for in this order), or a secret to mint one with.
type Auth struct {
	ServiceAccountToken Secret // env HULEEDU_SERVICE_ACCOUNT_TOKEN
	AdminToken          Secret // env HULEEDU_ADMIN_TOKEN
	CJAdminToken        Secret // key cj_admin_token
	JWTSecretKey        Secret // key jwt_secret_key
	JWTIssuer           string
	JWTAudience         string
	// Environment is ENVIRONMENT (or else HULEEDU_ENVIRONMENT), and
	// EnvironmentVar the one that gave it: minting is refused in
	// production and staging.
	Environment    string
	EnvironmentVar string
}

// Kafka holds the client settings for an external cluster.
type Kafka struct {
	Bootstrap             []string
	ClientID              string
	TopicPrefix           string
	SASLMechanism         string
	SASLUsername          string
	SASLPassword          Secret
	TLS                   bool
	TLSCAFile             string
	TLSCertFile           string
	TLSKeyFile            string
	TLSInsecureSkipVerify bool
}

// DevStack holds the embedded stack's settings (also those of `stack up`).
type DevStack struct {
	Seed        int64
	MockLatency time.Duration
	Faults      fault.Set
	LateDelay   time.Duration
	Partitions  int
	GroundTruth string
	KafkaPort   int
	HTTPPort    int
	DataDir     string
}

// Secret is a string that never prints itself: fmt, JSON and slog all show
// "[redacted]". Reveal returns the value for the one place that needs it.
type Secret string

const redacted = "[redacted]"

func (s Secret) String() string { return redactedIfSet(s) }

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return redactedIfSet(s) }

// MarshalJSON renders the secret redacted.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(redactedIfSet(s))), nil }

// LogValue renders the secret redacted in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redactedIfSet(s)) }

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

func redactedIfSet(s Secret) string {
	if s == "" {
		return ""
	}
	return redacted
}

// Source tells where a key's value came from: "flag --x", "env NAME",
// "config file PATH" or "default".
func (c *Config) Source(key string) string { return c.sources[key] }

// Error is a configuration error; the CLI exits 2 on it.
type Error struct {
	Key    string // the key, or "" for file-level errors
	Source string // where the offending value came from
	Msg    string
}

func (e *Error) Error() string {
	switch {
	case e.Key == "":
		return e.Msg
	case e.Source == "":
		return fmt.Sprintf("config key %s: %s", e.Key, e.Msg)
	default:
		return fmt.Sprintf("config key %s (from %s): %s", e.Key, e.Source, e.Msg)
	}
}

// AddFlags registers the flags of the named keys on fs, plus --config.
// Secrets never get a flag (a flag would leak into shell history and ps).
func AddFlags(fs *pflag.FlagSet, names ...string) {
	if fs.Lookup("config") == nil {
		fs.String("config", "", "config file (default: ./eng5np.yaml when present; env ENG5NP_CONFIG)")
	}
	for _, n := range names {
		k, ok := lookupKey(n)
		if !ok {
			panic("config: unknown key " + n) // programming error, not input
		}
		if k.flag == "" || fs.Lookup(k.flag) != nil {
			continue
		}
		usage := k.usage
		if len(k.env) > 0 {
			usage += " (env " + envName(k.name) + " or " + strings.Join(k.env, ", ") + ")"
		} else {
			usage += " (env " + envName(k.name) + ")"
		}
		switch k.kind {
		case kindBool:
			fs.BoolP(k.flag, k.short, k.def == "true", usage)
		case kindList:
			fs.StringSliceP(k.flag, k.short, nil, usage)
		default:
			fs.StringP(k.flag, k.short, k.def, usage)
		}
	}
}

// Load resolves every key from flags, the process environment, the config
// file and defaults.
func Load(fs *pflag.FlagSet) (*Config, error) {
	return LoadEnv(fs, os.Environ())
}

// LoadEnv is Load with the environment given as KEY=VALUE strings.
func LoadEnv(fs *pflag.FlagSet, environ []string) (*Config, error) {
	return load(fs, func(k string) string { v, _ := lookupEnv(environ, k); return v }, environ)
}

func load(fs *pflag.FlagSet, getenv func(string) string, environ []string) (*Config, error) {
	v := viper.New()
	c := &Config{sources: map[string]string{}, values: map[string]string{}}

	if err := checkEnvironment(environ); err != nil {
		return nil, err
	}

	path, explicit := "", false
	if fs != nil {
		if f := fs.Lookup("config"); f != nil && f.Changed {
			path, explicit = f.Value.String(), true
		}
	}
	if path == "" {
		if e := getenv("ENG5NP_CONFIG"); e != "" {
			path, explicit = e, true
		}
	}
	if path == "" {
		if _, err := os.Stat("eng5np.yaml"); err == nil {
			path = "eng5np.yaml"
		}
	}
	var fileKeys map[string]bool
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			if explicit {
				return nil, &Error{Msg: fmt.Sprintf("config file %s: %v; pass an existing file with --config or unset ENG5NP_CONFIG", path, errors.Unwrap(err))}
			}
		}
		v.SetConfigFile(path)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			return nil, notConfig(path, err)
		}
		c.File = path
		var err error
		if fileKeys, err = checkFileKeys(v, path); err != nil {
			return nil, err
		}
	}

	for _, k := range keys {
		source := "default"
		var raw any
		var set bool
		if fs != nil && k.flag != "" {
			if f := fs.Lookup(k.flag); f != nil && f.Changed {
				source = "flag --" + k.flag
				if k.kind == kindList {
					raw, _ = fs.GetStringSlice(k.flag)
				} else {
					raw = f.Value.String()
				}
				set = true
			}
		}
		if !set {
			for _, e := range append([]string{envName(k.name)}, k.env...) {
				if val, ok := lookupEnv(environ, e); ok {
					if k.secret && e != envName(k.name) {
						continue
					}
					source, raw, set = "env "+e, val, true
					break
				}
			}
		}
		if !set && fileKeys[k.name] {
			source, raw, set = "config file "+path, v.Get(k.name), true
		}
		c.sources[k.name] = source
		val, err := parse(k, raw, set)
		if err != nil {
			msg := err.Error()
			if k.secret {
				// A value that does not parse may still be the secret, or
				// hold it: never echo it.
				msg = "the value is not " + map[bool]string{true: "a single text value", false: "valid"}[isCollection(raw)] + " (not shown: it is a secret)"
			}
			return nil, &Error{Key: k.name, Source: source, Msg: msg + "; accepted: " + k.accepts}
		}
		k.set(c, val)
		c.values[k.name] = displayValue(k, val)
	}
	c.readHuleEduEnvironment(environ)
	if c.Stack != "external" {
		for name, v := range map[string]*string{"llm_provider": &c.LLM.Provider, "llm_model": &c.LLM.Model} {
			if *v == "" {
				*v = map[string]string{"llm_provider": MockProvider, "llm_model": MockModel}[name]
				c.sources[name], c.values[name] = "default (embedded stack)", *v
			}
		}
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return c, nil
}

// readHuleEduEnvironment takes the variables the HuleEdu tooling reads: the
// admin tokens and the deployment's environment.
func (c *Config) readHuleEduEnvironment(environ []string) {
	if v, ok := lookupEnv(environ, "HULEEDU_SERVICE_ACCOUNT_TOKEN"); ok {
		c.Auth.ServiceAccountToken = Secret(v)
	}
	if v, ok := lookupEnv(environ, "HULEEDU_ADMIN_TOKEN"); ok {
		c.Auth.AdminToken = Secret(v)
	}
	for _, name := range []string{"ENVIRONMENT", "HULEEDU_ENVIRONMENT"} {
		if v, ok := lookupEnv(environ, name); ok && strings.TrimSpace(v) != "" {
			c.Auth.Environment, c.Auth.EnvironmentVar = v, name
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "production", "prod", "staging":
				return // the strictest answer wins
			}
		}
	}
}

func lookupEnv(environ []string, name string) (string, bool) {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

// checkEnvironment rejects ENG5NP_ variables that name no key: a typo there
// would otherwise be silently ignored.
func checkEnvironment(environ []string) error {
	known := map[string]bool{"ENG5NP_CONFIG": true}
	for _, k := range keys {
		known[envName(k.name)] = true
	}
	var unknown []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "ENG5NP_") && !known[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	var hints []string
	for _, u := range unknown {
		key := strings.ToLower(strings.TrimPrefix(u, "ENG5NP_"))
		if s := suggest(key); s != "" {
			hints = append(hints, u+" (did you mean "+envName(s)+"?)")
		} else {
			hints = append(hints, u)
		}
	}
	return &Error{Msg: fmt.Sprintf("unknown environment variable %s; eng5np reads ENG5NP_<KEY> for the keys listed by `eng5np config --keys`", strings.Join(hints, ", "))}
}

// keyLike is what a config key could look like; anything else in a key's
// place is not shown (the file may not be a config file at all, and its
// lines may be secrets).
var keyLike = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

func checkFileKeys(v *viper.Viper, path string) (map[string]bool, error) {
	present := map[string]bool{}
	var unknown []string
	hidden, known := 0, 0
	for _, k := range v.AllKeys() {
		top, rest, nested := strings.Cut(k, ".")
		if kk, ok := lookupKey(top); ok && !nested && kk.name == k {
			present[k] = true
			known++
			continue
		}
		if top == "pricing" {
			present["pricing"] = true
			known++
			continue
		}
		if kk, ok := lookupKey(top); ok && nested {
			// A map under a known key: its sub-keys may be the value (a
			// secret written as a map); name the key only.
			what := "must be a single value, not a mapping"
			if !kk.secret {
				what += " (it has " + strconv.Quote(strings.SplitN(rest, ".", 2)[0]) + " under it)"
			}
			return nil, &Error{Key: top, Source: "config file " + path, Msg: what + "; accepted: " + kk.accepts}
		}
		if !keyLike.MatchString(strings.ReplaceAll(k, ".", "_")) {
			hidden++
			continue
		}
		hint := ""
		flat := strings.ReplaceAll(k, ".", "_")
		if s := suggest(flat); s != "" {
			hint = " (did you mean " + s + "?)"
		}
		unknown = append(unknown, k+hint)
	}
	switch {
	case known == 0 && hidden+len(unknown) > 0 && len(unknown) == 0:
		return nil, &Error{Msg: fmt.Sprintf("config file %s is not an eng5np config file: none of its %d entries is a setting (its content is not shown); "+
			"pass a YAML file of settings (eng5np.example.yaml shows one)", path, hidden)}
	case hidden > 0:
		return nil, &Error{Msg: fmt.Sprintf("config file %s has %d entries that are not setting names (not shown)%s; accepted keys: %s", path, hidden,
			map[bool]string{true: ", and unknown key " + strings.Join(unknown, ", "), false: ""}[len(unknown) > 0], strings.Join(KeyNames(), ", "))}
	case len(unknown) > 0:
		sort.Strings(unknown)
		return nil, &Error{Msg: fmt.Sprintf("config file %s: unknown key %s; accepted keys: %s", path, strings.Join(unknown, ", "), strings.Join(KeyNames(), ", "))}
	}
	return present, nil
}

// redactURL hides the password of a URL's user info; other text is
// returned as is.
func redactURL(s string) string {
	if !strings.Contains(s, "@") || !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// isCollection reports whether a raw value is a list or a mapping.
func isCollection(raw any) bool {
	switch raw.(type) {
	case []any, map[string]any:
		return true
	}
	return false
}

// yamlLine finds the line number in a YAML parser's message.
var yamlLine = regexp.MustCompile(`line (\d+)`)

// notConfig says a config file could not be read as YAML without quoting
// any of it: parser messages quote the offending text, which may be a
// secret (or a file that is not a config file at all).
func notConfig(path string, err error) error {
	where := ""
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		where = " (the first problem is on line " + m[1] + ")"
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return &Error{Msg: fmt.Sprintf("config file %s cannot be read: %v", path, pe.Err)}
	}
	return &Error{Msg: fmt.Sprintf("config file %s is not a YAML mapping of settings%s; its content is not shown. Pass a YAML file of settings (eng5np.example.yaml shows one)", path, where)}
}

// suggest returns the known key closest to an unknown one, or "".
func suggest(name string) string {
	best, bestD := "", 4
	for _, k := range keys {
		if d := editDistance(name, k.name); d < bestD {
			best, bestD = k.name, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// parse turns a raw value (text from a flag or env, a YAML value from the
// file) into the key's type, after its check.
func parse(k key, raw any, set bool) (any, error) {
	if k.kind == kindPricing {
		if !set {
			return DefaultPricing(), nil
		}
		return parsePricing(raw)
	}
	if k.kind == kindList {
		var items []string
		switch r := raw.(type) {
		case nil:
		case []string:
			items = r
		case []any:
			for _, x := range r {
				items = append(items, fmt.Sprint(x))
			}
		case string:
			items = strings.Split(r, ",")
		default:
			return nil, fmt.Errorf("%v is not a list", raw)
		}
		var out []string
		for _, it := range items {
			if it = strings.TrimSpace(it); it == "" {
				continue
			}
			if k.check != nil {
				if err := k.check(it); err != nil {
					return nil, err
				}
			}
			out = append(out, it)
		}
		return out, nil
	}
	var s string
	switch {
	case !set:
		s = k.def
	case raw == nil:
		s = ""
	default:
		switch r := raw.(type) {
		case []any, map[string]any:
			return nil, fmt.Errorf("%v is not a single value", raw)
		case float64:
			s = strconv.FormatFloat(r, 'f', -1, 64)
		default:
			s = fmt.Sprint(r)
		}
	}
	s = strings.TrimSpace(s)
	optional := k.kind == kindOptFloat || k.kind == kindOptInt || (k.kind == kindString && k.def == "")
	if s == "" && optional {
		switch k.kind {
		case kindOptFloat:
			return (*float64)(nil), nil
		case kindOptInt:
			return (*int)(nil), nil
		}
		return "", nil
	}
	if k.check != nil {
		if err := k.check(s); err != nil {
			return nil, err
		}
	}
	switch k.kind {
	case kindString:
		return s, nil
	case kindInt:
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", s)
		}
		return n, nil
	case kindOptInt:
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", s)
		}
		return &n, nil
	case kindFloat, kindOptFloat:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		if k.kind == kindOptFloat {
			return &f, nil
		}
		return f, nil
	case kindBool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not true or false", s)
		}
		return b, nil
	case kindDuration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a duration", s)
		}
		return d, nil
	}
	return nil, fmt.Errorf("unsupported kind")
}

func checkFault(s string) error {
	_, _, err := fault.Parse(s)
	return err
}

func parseFaults(specs []string) fault.Set {
	set, _ := fault.ParseAll(specs) // validated by checkFault already
	return set
}

// check validates combinations of keys.
func (c *Config) check() error {
	if (c.Kafka.TLSCertFile == "") != (c.Kafka.TLSKeyFile == "") {
		return &Error{Key: "kafka_tls_cert_file", Source: c.sources["kafka_tls_cert_file"], Msg: "a client certificate needs its key and vice versa; set both kafka_tls_cert_file and kafka_tls_key_file"}
	}
	if c.Kafka.SASLMechanism != "" && (c.Kafka.SASLUsername == "" || c.Kafka.SASLPassword == "") {
		return &Error{Key: "kafka_sasl_mechanism", Source: c.sources["kafka_sasl_mechanism"], Msg: "SASL needs kafka_sasl_username and kafka_sasl_password (ENG5NP_KAFKA_SASL_PASSWORD)"}
	}
	if f := c.LLM.SystemPromptFile; f != "" {
		text, err := readSystemPrompt(f)
		if err != nil {
			return &Error{Key: "system_prompt", Source: c.sources["system_prompt"], Msg: err.Error()}
		}
		c.LLM.SystemPrompt = text
	}
	return nil
}

// readSystemPrompt reads a system prompt file: UTF-8 text, not empty, at
// most MaxSystemPromptBytes.
func readSystemPrompt(path string) (string, error) {
	st, err := os.Stat(path)
	switch {
	case err != nil:
		return "", fmt.Errorf("cannot read %s (%v); pass the path of a text file", path, errors.Unwrap(err))
	case !st.Mode().IsRegular():
		return "", fmt.Errorf("%s is not a regular file; pass the path of a text file", path)
	case st.Size() > MaxSystemPromptBytes:
		return "", fmt.Errorf("%s has %d bytes; a system prompt may have at most %d", path, st.Size(), MaxSystemPromptBytes)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cannot read %s (%v)", path, errors.Unwrap(err))
	}
	if !utf8.Valid(data) {
		return "", fmt.Errorf("%s is not UTF-8 text; save it as UTF-8", path)
	}
	text := strings.TrimSpace(string(data))
	if text == "" {
		return "", fmt.Errorf("%s is empty; write the system prompt in it, or leave system_prompt unset for the service's own", path)
	}
	return text, nil
}

// EffectiveComparisons is what the CJ service will spend: max_comparisons,
// capped at its limit.
func (c *Config) EffectiveComparisons() int { return min(c.MaxComparisons, c.ServiceMaxComparisons) }

// Setting is one key's effective value, for `eng5np config`.
type Setting struct {
	Key    string
	Value  string
	Source string
}

// Settings lists every key with its value and source; secrets are redacted.
func (c *Config) Settings() []Setting {
	var out []Setting
	for _, k := range keys {
		out = append(out, Setting{Key: k.name, Value: c.values[k.name], Source: c.sources[k.name]})
	}
	return out
}

// displayValue renders a parsed value for `eng5np config`.
func displayValue(k key, v any) string {
	if k.secret {
		return Secret(fmt.Sprint(v)).String()
	}
	switch x := v.(type) {
	case string:
		return redactURL(x)
	case *float64:
		if x == nil {
			return ""
		}
		return strconv.FormatFloat(*x, 'g', -1, 64)
	case *int:
		if x == nil {
			return ""
		}
		return strconv.Itoa(*x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []string:
		return strings.Join(x, ",")
	case Pricing:
		return x.String()
	}
	return fmt.Sprint(v)
}

// KeyInfo describes a key for `eng5np config --keys` and the docs.
type KeyInfo struct {
	Name    string
	Flag    string
	Env     string
	Accepts string
	Usage   string
	Default string
	Secret  bool
}

// Describe lists every key.
func Describe() []KeyInfo {
	out := make([]KeyInfo, 0, len(keys))
	for _, k := range keys {
		env := envName(k.name)
		if len(k.env) > 0 {
			env += ", " + strings.Join(k.env, ", ")
		}
		flag := ""
		if k.flag != "" {
			flag = "--" + k.flag
		}
		out = append(out, KeyInfo{Name: k.name, Flag: flag, Env: env, Accepts: k.accepts, Usage: k.usage, Default: k.def, Secret: k.secret})
	}
	return out
}
