package appconfig

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const full = `version: 1.0
runtime: python3
build:
  commands:
    pre-build:
      - yum install -y openssl
    build:
      - pip install pipenv
      - pipenv install
    post-build:
      - python manage.py test
  env:
    - name: DJANGO_SETTINGS_MODULE
      value: "django_apprunner.settings"
    - name: COUNT
      value: 3
run:
  runtime-version: 3.7.7
  pre-run:
    - python manage.py migrate
  command: pipenv run gunicorn django_apprunner.wsgi --log-file -
  network:
    port: 8000
    env: MY_APP_PORT
  env:
    - name: MY_VAR_EXAMPLE
      value: "example"
    - name: EMPTY
      value: ""
  secrets:
    - name: my-secret
      value-from: "arn:aws:secretsmanager:us-east-1:123456789012:secret:testingstackAppRunnerConstr-kJFXde2ULKbT-S7t8xR:username::"
    - name: my-parameter
      value-from: "arn:aws:ssm:us-east-1:123456789012:parameter/parameter-name"
`

const minimal = `version: 1.0
runtime: python3
build:
  commands:
    build:
      - pip install pipenv
      - pipenv install
run:
  command: python app.py
`

func TestParseFull(t *testing.T) {
	f, err := Parse([]byte(full))
	if err != nil {
		t.Fatal(err)
	}
	want := &File{
		Version: "1.0",
		Runtime: "python3",
		Build: &Build{
			Commands: BuildCommands{
				PreBuild:  []string{"yum install -y openssl"},
				Build:     []string{"pip install pipenv", "pipenv install"},
				PostBuild: []string{"python manage.py test"},
			},
			Env: []EnvVar{{"DJANGO_SETTINGS_MODULE", "django_apprunner.settings"}, {"COUNT", "3"}},
		},
		Run: Run{
			RuntimeVersion: "3.7.7",
			PreRun:         []string{"python manage.py migrate"},
			Command:        "pipenv run gunicorn django_apprunner.wsgi --log-file -",
			Network:        Network{Port: 8000, Env: "MY_APP_PORT"},
			Env:            []EnvVar{{"MY_VAR_EXAMPLE", "example"}, {"EMPTY", ""}},
			Secrets: []Secret{
				{"my-secret", "arn:aws:secretsmanager:us-east-1:123456789012:secret:testingstackAppRunnerConstr-kJFXde2ULKbT-S7t8xR:username::"},
				{"my-parameter", "arn:aws:ssm:us-east-1:123456789012:parameter/parameter-name"},
			},
		},
	}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("Parse(full) =\n%+v\nwant\n%+v", f, want)
	}

	got := f.Plan()
	wantPlan := Plan{
		Runtime:        "PYTHON_3",
		RuntimeVersion: "3.7.7",
		BuildCommands:  []string{"yum install -y openssl", "pip install pipenv", "pipenv install", "python manage.py test"},
		BuildEnv:       map[string]string{"DJANGO_SETTINGS_MODULE": "django_apprunner.settings", "COUNT": "3"},
		PreRun:         []string{"python manage.py migrate"},
		StartCommand:   "pipenv run gunicorn django_apprunner.wsgi --log-file -",
		Port:           8000,
		PortEnv:        "MY_APP_PORT",
		Env:            map[string]string{"MY_VAR_EXAMPLE": "example", "EMPTY": ""},
		Secrets: map[string]string{
			"my-secret":    "arn:aws:secretsmanager:us-east-1:123456789012:secret:testingstackAppRunnerConstr-kJFXde2ULKbT-S7t8xR:username::",
			"my-parameter": "arn:aws:ssm:us-east-1:123456789012:parameter/parameter-name",
		},
	}
	if !reflect.DeepEqual(got, wantPlan) {
		t.Errorf("Plan() =\n%+v\nwant\n%+v", got, wantPlan)
	}
}

func TestPlanDefaults(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want Plan
	}{
		{"minimal", minimal, Plan{
			Runtime:       "PYTHON_3",
			BuildCommands: []string{"pip install pipenv", "pipenv install"},
			StartCommand:  "python app.py",
			Port:          8080,
			PortEnv:       "PORT",
		}},
		{"no build section", "version: 1.0\nruntime: nodejs18\nrun:\n  command: node index.js\n", Plan{
			Runtime:      "NODEJS_18",
			StartCommand: "node index.js",
			Port:         8080,
			PortEnv:      "PORT",
		}},
		{"null sections are absent", "version: 1.0\nruntime: go1\nbuild:\nrun:\n  command: ./app\n  network:\n  env:\n", Plan{
			Runtime:      "GO_1",
			StartCommand: "./app",
			Port:         8080,
			PortEnv:      "PORT",
		}},
		{"port only", "version: 1.0\nruntime: go1\nrun:\n  command: ./app\n  network:\n    port: 3000\n", Plan{
			Runtime:      "GO_1",
			StartCommand: "./app",
			Port:         3000,
			PortEnv:      "PORT",
		}},
		{"quoted version, float runtime-version", "version: \"1.0\"\nruntime: python311\nrun:\n  runtime-version: 3.10\n  command: python app.py\n", Plan{
			Runtime:        "PYTHON_311",
			RuntimeVersion: "3.10",
			StartCommand:   "python app.py",
			Port:           8080,
			PortEnv:        "PORT",
		}},
		{"anchors and aliases", "version: 1.0\nruntime: ruby31\nbuild:\n  commands:\n    build: &cmds\n      - bundle install\nrun:\n  pre-run: *cmds\n  command: ruby app.rb\n", Plan{
			Runtime:       "RUBY_31",
			BuildCommands: []string{"bundle install"},
			PreRun:        []string{"bundle install"},
			StartCommand:  "ruby app.rb",
			Port:          8080,
			PortEnv:       "PORT",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Plan(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Plan() =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestRuntimeMapping(t *testing.T) {
	want := map[string]string{
		"python3":    "PYTHON_3",
		"python311":  "PYTHON_311",
		"nodejs12":   "NODEJS_12",
		"nodejs14":   "NODEJS_14",
		"nodejs16":   "NODEJS_16",
		"nodejs18":   "NODEJS_18",
		"nodejs22":   "NODEJS_22",
		"corretto8":  "CORRETTO_8",
		"corretto11": "CORRETTO_11",
		"go1":        "GO_1",
		"dotnet6":    "DOTNET_6",
		"php81":      "PHP_81",
		"ruby31":     "RUBY_31",
	}
	if got := len(RuntimeNames()); got != len(want) {
		t.Errorf("RuntimeNames() has %d names; want %d", got, len(want))
	}
	for name, api := range want {
		f, err := Parse([]byte("version: 1.0\nruntime: " + name + "\nrun:\n  command: start\n"))
		if err != nil {
			t.Errorf("runtime %s: %v", name, err)
			continue
		}
		if got := f.Plan().Runtime; got != api {
			t.Errorf("runtime %s → %q; want %q", name, got, api)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // substring of the error
	}{
		{"empty", "", "apprunner.yaml: file is empty"},
		{"comment only", "# nothing\n", "apprunner.yaml: file is empty"},
		{"not a mapping", "- a\n- b\n", "apprunner.yaml line 1: the file must be a mapping, got a list"},
		{"syntax", "version: 1.0\nruntime: python3\nrun:\n  command: [unclosed\n", "apprunner.yaml line 3: did not find expected"},
		{"mapping in scalar", "version: 1.0\nruntime: python3: x\n", "apprunner.yaml line 2: mapping values are not allowed"},
		{"bad indentation", "version: 1.0\nrun:\n  command: x\n   port: 1\n", "apprunner.yaml line 4:"},
		{"bad version", "version: 2.0\nruntime: python3\nrun:\n  command: x\n", `apprunner.yaml line 1: version must be 1.0, got "2.0"`},
		{"bad version string", "runtime: python3\nversion: \"latest\"\nrun:\n  command: x\n", `apprunner.yaml line 2: version must be 1.0, got "latest"`},
		{"missing version", "runtime: python3\nrun:\n  command: x\n", `apprunner.yaml line 1: missing required key "version"`},
		{"missing runtime", "version: 1.0\nrun:\n  command: x\n", `missing required key "runtime"`},
		{"missing run", "version: 1.0\nruntime: python3\n", `missing required key "run"`},
		{"unknown runtime", "version: 1.0\nruntime: python2\nrun:\n  command: x\n", `apprunner.yaml line 2: unknown runtime "python2"`},
		{"unknown top key", "version: 1.0\nruntime: python3\nrun:\n  command: x\nnetwork: {}\n", `apprunner.yaml line 5: unknown key "network"`},
		{"unknown run key", "version: 1.0\nruntime: python3\nrun:\n  comand: x\n", `apprunner.yaml line 4: unknown key "comand" in run`},
		{"unknown network key", "version: 1.0\nruntime: python3\nrun:\n  command: x\n  network:\n    prot: 80\n", `apprunner.yaml line 6: unknown key "prot" in run.network`},
		{"unknown env item key", "version: 1.0\nruntime: python3\nrun:\n  command: x\n  env:\n    - name: A\n      vaule: b\n", `apprunner.yaml line 7: unknown key "vaule" in run.env[0]`},
		{"missing command", "version: 1.0\nruntime: python3\nrun:\n  runtime-version: 3.8\n", `apprunner.yaml line 4: missing required key "command" in run`},
		{"null command", "version: 1.0\nruntime: python3\nrun:\n  command:\n", `apprunner.yaml line 4: key "command" in run has no value`},
		{"blank command", "version: 1.0\nruntime: python3\nrun:\n  command: \"  \"\n", "apprunner.yaml line 4: run.command must not be empty"},
		{"command is a list", "version: 1.0\nruntime: python3\nrun:\n  command:\n    - a\n", `apprunner.yaml line 5: run.command must be a string, got a list`},
		{"run is a string", "version: 1.0\nruntime: python3\nrun: python app.py\n", `apprunner.yaml line 3: run must be a mapping, got "python app.py"`},
		{"build without commands", "version: 1.0\nruntime: python3\nbuild:\n  env: []\nrun:\n  command: x\n", `apprunner.yaml line 4: missing required key "commands" in build`},
		{"commands without build", "version: 1.0\nruntime: python3\nbuild:\n  commands:\n    pre-build: [a]\nrun:\n  command: x\n", `apprunner.yaml line 5: missing required key "build" in build.commands`},
		{"build commands a string", "version: 1.0\nruntime: python3\nbuild:\n  commands:\n    build: make\nrun:\n  command: x\n", `apprunner.yaml line 5: build.commands.build must be a list of strings, got "make"`},
		{"build command a mapping", "version: 1.0\nruntime: python3\nbuild:\n  commands:\n    build:\n      - make\n      - {a: b}\nrun:\n  command: x\n", `apprunner.yaml line 7: build.commands.build[1] must be a string, got a mapping`},
		{"env not a list", "version: 1.0\nruntime: python3\nrun:\n  command: x\n  env:\n    A: b\n", `apprunner.yaml line 6: run.env must be a list, got a mapping`},
		{"env missing value", "version: 1.0\nruntime: python3\nrun:\n  command: x\n  env:\n    - name: A\n", `apprunner.yaml line 6: missing required key "value" in run.env[0]`},
		{"env bad name", "version: 1.0\nruntime: python3\nrun:\n  command: x\n  env:\n    - name: A=B\n      value: c\n", `apprunner.yaml line 6: run.env[0].name is not a valid variable name`},
		{"env duplicate", "version: 1.0\nruntime: python3\nrun:\n  command: x\n  env:\n    - name: A\n      value: b\n    - name: A\n      value: c\n", `apprunner.yaml line 8: duplicate name "A" in run.env`},
		{"secret missing value-from", "version: 1.0\nruntime: python3\nrun:\n  command: x\n  secrets:\n    - name: S\n      value: v\n", `apprunner.yaml line 7: unknown key "value" in run.secrets[0]`},
		{"secret without value-from", "version: 1.0\nruntime: python3\nrun:\n  command: x\n  secrets:\n    - name: S\n", `apprunner.yaml line 6: missing required key "value-from" in run.secrets[0]`},
		{"port zero", "version: 1.0\nruntime: python3\nrun:\n  command: x\n  network:\n    port: 0\n", "apprunner.yaml line 6: run.network.port must be between 1 and 65535, got 0"},
		{"port too big", "version: 1.0\nruntime: python3\nrun:\n  command: x\n  network:\n    port: 70000\n", "apprunner.yaml line 6: run.network.port must be between 1 and 65535, got 70000"},
		{"port not a number", "version: 1.0\nruntime: python3\nrun:\n  command: x\n  network:\n    port: http\n", `apprunner.yaml line 6: run.network.port must be an integer, got "http"`},
		{"duplicate key", "version: 1.0\nruntime: python3\nrun:\n  command: x\nruntime: go1\n", `apprunner.yaml line 5: duplicate key "runtime"`},
		{"non-string key", "version: 1.0\nruntime: python3\nrun:\n  command: x\n  [a]: b\n", "apprunner.yaml line 5: keys must be strings in run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v; want error containing %q", f, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q; want it to contain %q", err, tt.want)
			}
			var pe *Error
			if !errors.As(err, &pe) || !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v is not an *Error wrapping ErrInvalid", err)
			}
		})
	}
}
