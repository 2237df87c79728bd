package deploy_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

const (
	composeFile = "../docker-compose.yml"
	dockerfile  = "../Dockerfile"

	// testPassword is what the tests put in POSTGRES_PASSWORD; it must reach
	// the project only through interpolation.
	testPassword = "pw-from-test-env-7f3a9c"
)

// load loads docker-compose.yml the way `docker compose` does, with env as the
// only source of variables (the process environment is not consulted, so the
// test does not depend on the machine it runs on).
func load(t *testing.T, env map[string]string, profiles ...string) (*types.Project, error) {
	t.Helper()
	var kv []string
	for k, v := range env {
		kv = append(kv, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{composeFile},
		cli.WithName("sendfile-archive"),
		cli.WithEnv(kv),
		cli.WithProfiles(profiles),
	)
	if err != nil {
		t.Fatalf("project options: %v", err)
	}
	return opts.LoadProject(context.Background())
}

func mustLoad(t *testing.T, env map[string]string, profiles ...string) *types.Project {
	t.Helper()
	p, err := load(t, env, profiles...)
	if err != nil {
		t.Fatalf("load %s with profiles %v: %v", composeFile, profiles, err)
	}
	return p
}

func mustService(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("service %q: %v (enabled: %v)", name, err, p.ServiceNames())
	}
	return s
}

func envValue(t *testing.T, s types.ServiceConfig, key string) string {
	t.Helper()
	v, ok := s.Environment[key]
	if !ok {
		t.Fatalf("service %s: environment has no %s (has %v)", s.Name, key, keys(s.Environment))
	}
	if v == nil {
		t.Fatalf("service %s: %s has no value", s.Name, key)
	}
	return *v
}

func keys(m types.MappingWithEquals) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestComposeDefaultProfile(t *testing.T) {
	p := mustLoad(t, map[string]string{"POSTGRES_PASSWORD": testPassword})

	names := p.ServiceNames()
	slices.Sort(names)
	if want := []string{"archiver", "migrate", "postgres"}; !slices.Equal(names, want) {
		t.Fatalf("enabled services = %v, want %v", names, want)
	}
	if _, err := p.GetService("sim"); err == nil {
		t.Error("sim is enabled without the sim profile")
	}
	if _, err := p.GetDisabledService("sim"); err != nil {
		t.Errorf("sim should be defined but disabled by profile: %v", err)
	}

	pg := mustService(t, p, "postgres")
	if pg.Image != "postgres:15" {
		t.Errorf("postgres image = %q, want postgres:15", pg.Image)
	}
	for k, want := range map[string]string{"POSTGRES_USER": "archive", "POSTGRES_DB": "archive", "POSTGRES_PASSWORD": testPassword} {
		if got := envValue(t, pg, k); got != want {
			t.Errorf("postgres %s = %q, want %q", k, got, want)
		}
	}
	if pg.HealthCheck == nil || !strings.Contains(strings.Join(pg.HealthCheck.Test, " "), "pg_isready") {
		t.Errorf("postgres healthcheck = %+v, want one running pg_isready", pg.HealthCheck)
	}
	var dataVolume bool
	for _, v := range pg.Volumes {
		if v.Type == types.VolumeTypeVolume && v.Target == "/var/lib/postgresql/data" {
			if _, ok := p.Volumes[v.Source]; !ok {
				t.Errorf("postgres data volume %q is not declared under volumes:", v.Source)
			}
			dataVolume = true
		}
	}
	if !dataVolume {
		t.Errorf("postgres has no named volume at /var/lib/postgresql/data: %+v", pg.Volumes)
	}

	mig := mustService(t, p, "migrate")
	if mig.Build == nil {
		t.Error("migrate has no build section")
	}
	if got, want := []string(mig.Command), []string{"migrate", "up"}; !slices.Equal(got, want) {
		t.Errorf("migrate command = %q, want %q", got, want)
	}
	if mig.Restart != "no" {
		t.Errorf("migrate restart = %q, want \"no\"", mig.Restart)
	}
	assertDependsOn(t, mig, "postgres", types.ServiceConditionHealthy)

	arc := mustService(t, p, "archiver")
	if arc.Build == nil {
		t.Error("archiver has no build section")
	}
	if got, want := []string(arc.Command), []string{"run"}; !slices.Equal(got, want) {
		t.Errorf("archiver command = %q, want %q", got, want)
	}
	if arc.Restart != types.RestartPolicyUnlessStopped {
		t.Errorf("archiver restart = %q, want %q", arc.Restart, types.RestartPolicyUnlessStopped)
	}
	assertDependsOn(t, arc, "migrate", types.ServiceConditionCompletedSuccessfully)
	assertPublishes(t, arc, 9090, "9090")

	wantURL := "postgres://archive:" + testPassword + "@postgres:5432/archive?sslmode=disable"
	for _, s := range []types.ServiceConfig{mig, arc} {
		if got := envValue(t, s, "DATABASE_URL"); got != wantURL {
			t.Errorf("%s DATABASE_URL = %q, want %q", s.Name, got, wantURL)
		}
	}
	if got := envValue(t, arc, "ARCHIVER_REGIONS"); got != "cn-hangzhou" {
		t.Errorf("archiver ARCHIVER_REGIONS default = %q, want cn-hangzhou", got)
	}
	if got := envValue(t, arc, "ARCHIVER_SCHEDULE"); got != "*/10 * * * *" {
		t.Errorf("archiver ARCHIVER_SCHEDULE default = %q, want */10 * * * *", got)
	}
	if got := envValue(t, arc, "ARCHIVER_ENDPOINT"); got != "" {
		t.Errorf("archiver ARCHIVER_ENDPOINT default = %q, want empty (the region's public endpoint)", got)
	}
	// Cloud credentials are passed through: with nothing in the environment
	// they stay unset rather than taking a value from the file.
	for _, k := range []string{"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"} {
		v, ok := arc.Environment[k]
		if !ok {
			t.Errorf("archiver environment does not pass %s through", k)
		} else if v != nil {
			t.Errorf("archiver %s = %q with nothing in the environment; it must come from the host only", k, *v)
		}
	}
}

func assertDependsOn(t *testing.T, s types.ServiceConfig, on, condition string) {
	t.Helper()
	d, ok := s.DependsOn[on]
	if !ok {
		t.Errorf("%s does not depend on %s (depends_on: %v)", s.Name, on, s.DependsOn)
		return
	}
	if d.Condition != condition {
		t.Errorf("%s depends on %s with condition %q, want %q", s.Name, on, d.Condition, condition)
	}
	if !d.Required {
		t.Errorf("%s's dependency on %s is not required", s.Name, on)
	}
}

func assertPublishes(t *testing.T, s types.ServiceConfig, target uint32, published string) {
	t.Helper()
	for _, port := range s.Ports {
		if port.Target == target && port.Published == published {
			return
		}
	}
	t.Errorf("%s does not publish %s:%d (ports: %+v)", s.Name, published, target, s.Ports)
}

func TestComposeSimProfile(t *testing.T) {
	p := mustLoad(t, map[string]string{"POSTGRES_PASSWORD": testPassword}, "sim")
	for _, name := range []string{"postgres", "migrate", "archiver"} {
		mustService(t, p, name)
	}
	sim := mustService(t, p, "sim")
	if !slices.Equal(sim.Profiles, []string{"sim"}) {
		t.Errorf("sim profiles = %v, want [sim]", sim.Profiles)
	}
	if sim.Build == nil {
		t.Error("sim has no build section")
	}
	want := []string{"sim", "--listen", "0.0.0.0:8099", "--speed", "60", "--history", "1008h"}
	if got := []string(sim.Command); !slices.Equal(got, want) {
		t.Errorf("sim command = %q, want %q", got, want)
	}
	assertPublishes(t, sim, 8099, "8099")
}

func TestComposeEnvironmentOverrides(t *testing.T) {
	p := mustLoad(t, map[string]string{
		"POSTGRES_PASSWORD":               testPassword,
		"ARCHIVER_REGIONS":                "cn-shanghai,cn-beijing",
		"ARCHIVER_ENDPOINT":               "http://sim:8099",
		"ARCHIVER_SCHEDULE":               "@every 5m",
		"ALIBABA_CLOUD_ACCESS_KEY_ID":     "sim-access-key-id",
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET": "sim-access-key-secret",
	}, "sim")
	arc := mustService(t, p, "archiver")
	for k, want := range map[string]string{
		"ARCHIVER_REGIONS":                "cn-shanghai,cn-beijing",
		"ARCHIVER_ENDPOINT":               "http://sim:8099",
		"ARCHIVER_SCHEDULE":               "@every 5m",
		"ALIBABA_CLOUD_ACCESS_KEY_ID":     "sim-access-key-id",
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET": "sim-access-key-secret",
	} {
		if got := envValue(t, arc, k); got != want {
			t.Errorf("archiver %s = %q, want %q from the host environment", k, got, want)
		}
	}
}

func TestComposeRequiresPostgresPassword(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"unset": {},
		"empty": {"POSTGRES_PASSWORD": ""},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := load(t, env)
			if err == nil {
				t.Fatal("loading succeeded without POSTGRES_PASSWORD; it must refuse to start")
			}
			msg := err.Error()
			if !strings.Contains(msg, "POSTGRES_PASSWORD") || !strings.Contains(msg, "set POSTGRES_PASSWORD") {
				t.Errorf("error %q does not tell the user to set POSTGRES_PASSWORD", msg)
			}
		})
	}
}

// secretName matches environment variables that carry a credential.
var secretName = regexp.MustCompile(`(?i)(PASSWORD|SECRET|TOKEN|ACCESS_KEY|DATABASE_URL)`)

// TestComposeNoLiteralSecrets loads the project with two different sets of
// credentials: every credential-bearing variable of every service must either
// be unset (passed through from the host) or follow the environment, and the
// password must show up nowhere but where it is interpolated.
func TestComposeNoLiteralSecrets(t *testing.T) {
	envA := map[string]string{"POSTGRES_PASSWORD": testPassword}
	envB := map[string]string{
		"POSTGRES_PASSWORD":               "other-password-2b81d0",
		"ALIBABA_CLOUD_ACCESS_KEY_ID":     "id-from-host",
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET": "secret-from-host",
	}
	a := mustLoad(t, envA, "sim")
	b := mustLoad(t, envB, "sim")

	allowed := map[string]bool{
		"postgres/POSTGRES_PASSWORD": true,
		"migrate/DATABASE_URL":       true,
		"archiver/DATABASE_URL":      true,
	}
	for _, sa := range a.AllServices() {
		sb := mustService(t, b, sa.Name)
		for k, va := range sa.Environment {
			if va != nil && strings.Contains(*va, testPassword) && !allowed[sa.Name+"/"+k] {
				t.Errorf("the database password leaks into %s's %s", sa.Name, k)
			}
			if !secretName.MatchString(k) {
				continue
			}
			vb := sb.Environment[k]
			switch {
			case va == nil && vb == nil:
				t.Errorf("%s's %s stays unset even when the host sets it", sa.Name, k)
			case va != nil && vb != nil && *va == *vb:
				t.Errorf("%s's %s = %q whatever the environment says: a literal secret in the file", sa.Name, k, *va)
			}
		}
		for i, c := range sa.Command {
			if strings.Contains(c, testPassword) {
				t.Errorf("the database password appears in %s's command[%d]", sa.Name, i)
			}
		}
	}

	raw, err := os.ReadFile(composeFile)
	if err != nil {
		t.Fatal(err)
	}
	checkRawCompose(t, string(raw))
}

// checkRawCompose checks the YAML text itself, outside comments: the
// password is only ever interpolated, and the cloud credentials have no value.
func checkRawCompose(t *testing.T, raw string) {
	t.Helper()
	passthrough := regexp.MustCompile(`^\s*(-\s*)?(ALIBABA_CLOUD_ACCESS_KEY_ID|ALIBABA_CLOUD_ACCESS_KEY_SECRET|ALIBABA_CLOUD_SECURITY_TOKEN)\s*:?\s*$`)
	interpolated := regexp.MustCompile(`\$\{POSTGRES_PASSWORD:\?[^}]*\}`)
	emptyURLPassword := regexp.MustCompile(`postgres://[^:@/]+:@`)
	sc := bufio.NewScanner(strings.NewReader(raw))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if strings.Contains(line, "ALIBABA_CLOUD_") && !passthrough.MatchString(line) {
			t.Errorf("docker-compose.yml:%d gives a cloud credential a value: %q", n, line)
		}
		if strings.Contains(line, "POSTGRES_PASSWORD") || strings.Contains(line, "postgres://") {
			// With every ${POSTGRES_PASSWORD:?...} taken out, what is left may
			// name the variable only as a key, and a URL has an empty password.
			rest := strings.TrimSpace(interpolated.ReplaceAllString(line, ""))
			rest = strings.TrimPrefix(rest, "- ")
			keyOnly := rest == "POSTGRES_PASSWORD:" || rest == "POSTGRES_PASSWORD="
			if !interpolated.MatchString(line) ||
				(!keyOnly && strings.Contains(rest, "POSTGRES_PASSWORD")) ||
				(strings.Contains(rest, "postgres://") && !emptyURLPassword.MatchString(rest)) {
				t.Errorf("docker-compose.yml:%d sets the database password other than by ${POSTGRES_PASSWORD:?...}: %q", n, line)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw, "version:") {
		t.Error("docker-compose.yml has an obsolete top-level version: key")
	}
}

// stage is one FROM ... section of a Dockerfile.
type stage struct {
	from         string // the FROM line's arguments
	instructions [][2]string
}

// parseDockerfile splits a Dockerfile into stages of (INSTRUCTION, arguments),
// joining continuation lines and dropping comments.
func parseDockerfile(t *testing.T, text string) []stage {
	t.Helper()
	var (
		stages  []stage
		logical []string
		cur     strings.Builder
	)
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\r\n")
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		logical = append(logical, cur.String())
		cur.Reset()
	}
	if cur.Len() > 0 {
		logical = append(logical, cur.String())
	}
	for _, l := range logical {
		instr, args, _ := strings.Cut(l, " ")
		instr = strings.ToUpper(instr)
		args = strings.TrimSpace(args)
		if instr == "FROM" {
			stages = append(stages, stage{from: args})
			continue
		}
		if len(stages) == 0 {
			if instr != "ARG" {
				t.Fatalf("Dockerfile: %s before the first FROM", instr)
			}
			continue
		}
		s := &stages[len(stages)-1]
		s.instructions = append(s.instructions, [2]string{instr, args})
	}
	return stages
}

func (s stage) find(instr string) []string {
	var out []string
	for _, in := range s.instructions {
		if in[0] == instr {
			out = append(out, in[1])
		}
	}
	return out
}

func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	stages := parseDockerfile(t, string(raw))
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stage(s), want a multi-stage build", len(stages))
	}

	// The build stage compiles ./cmd/archiver statically.
	build := stages[0]
	fields := strings.Fields(build.from)
	if len(fields) != 3 || !strings.EqualFold(fields[1], "AS") || !strings.HasPrefix(fields[0], "golang:1.26") {
		t.Fatalf("first stage is FROM %q, want golang:1.26... AS <name>", build.from)
	}
	buildName := fields[2]
	var built bool
	for _, run := range build.find("RUN") {
		if strings.Contains(run, "go build") {
			for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-o /out/archiver", "./cmd/archiver"} {
				if !strings.Contains(run, want) {
					t.Errorf("build command %q lacks %q", run, want)
				}
			}
			built = true
		}
	}
	if !built {
		t.Error("the build stage does not run go build")
	}

	// The final stage ships only the binary and does not run as root.
	final := stages[len(stages)-1]
	image := strings.Fields(final.from)[0]
	if !strings.HasPrefix(image, "gcr.io/distroless/static") && !strings.HasPrefix(image, "debian:") {
		t.Errorf("final stage image = %q, want distroless static or debian slim", image)
	}
	var copied bool
	for _, c := range final.find("COPY") {
		if strings.Contains(c, "--from="+buildName) && strings.Contains(c, "/out/archiver") {
			copied = true
		}
	}
	if !copied {
		t.Errorf("final stage does not COPY --from=%s /out/archiver", buildName)
	}
	users := final.find("USER")
	user := ""
	switch {
	case len(users) > 0:
		user = users[len(users)-1]
	case strings.HasSuffix(image, ":nonroot"):
		user = "nonroot" // the distroless :nonroot images default to uid 65532
	default:
		t.Fatalf("final stage (FROM %s) has no USER and its image does not default to a non-root user", final.from)
	}
	name, _, _ := strings.Cut(user, ":")
	if name == "" || name == "root" || name == "0" {
		t.Errorf("final stage runs as %q, want a non-root user", user)
	}
	if got := final.find("ENTRYPOINT"); len(got) == 0 || got[len(got)-1] != `["/archiver"]` {
		t.Errorf("final ENTRYPOINT = %q, want [\"/archiver\"]", got)
	}
	if !slices.ContainsFunc(final.find("EXPOSE"), func(s string) bool { return slices.Contains(strings.Fields(s), "9090") }) {
		t.Error("final stage does not EXPOSE 9090")
	}

	// No credentials baked into any stage.
	for i, s := range stages {
		for _, in := range s.instructions {
			if (in[0] == "ENV" || in[0] == "ARG") && secretName.MatchString(in[1]) {
				t.Errorf("stage %d bakes a credential in: %s %s", i, in[0], in[1])
			}
		}
	}

	// The build context must exist where compose points at it.
	if _, err := os.Stat(filepath.Join("..", "cmd", "archiver")); err != nil {
		t.Errorf("./cmd/archiver: %v", err)
	}
}

func TestDockerignoreKeepsSources(t *testing.T) {
	raw, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(raw)) {
		p := strings.TrimSpace(line)
		if p == "" || strings.HasPrefix(p, "#") {
			continue
		}
		for _, needed := range []string{"go.mod", "go.sum", "cmd", "migrations", "*.go", "**/*.go", "."} {
			if strings.TrimPrefix(strings.TrimSuffix(p, "/"), "/") == needed {
				t.Errorf(".dockerignore excludes %q, which the build needs", p)
			}
		}
	}
	if !strings.Contains(string(raw), ".env") {
		t.Error(".dockerignore does not keep .env files (which may hold secrets) out of the build context")
	}
}
