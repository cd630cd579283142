package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/modules/localstack"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Container kinds.
const (
	// ContainerMoto is moto_server in a container: the image
	// hack/moto-image.sh builds from the moto on the machine, as no
	// registry may be reachable.
	ContainerMoto = "moto"
	// ContainerLocalStack is LocalStack through testcontainers-go's
	// module, with the user's LOCALSTACK_AUTH_TOKEN when set.
	ContainerLocalStack = "localstack"
)

// The images of the container kinds.
const (
	MotoImage       = "irsa-local/moto:5.2.1-r2"
	LocalStackImage = "localstack/localstack:4"
)

// EnvLabel marks the containers of an environment with its state directory,
// so a crashed environment's container is found and removed.
const EnvLabel = "dev.irsa-local.env"

// ErrNoDocker is returned when no Docker engine answers.
var ErrNoDocker = errors.New("no Docker engine answers")

// ContainerOptions say which container to run.
type ContainerOptions struct {
	Kind string
	// Dir is the environment's state directory, written on the container's
	// label.
	Dir string
}

// Container is a backend running in a container.
type Container struct {
	c   testcontainers.Container
	url string
}

// StartContainer runs the backend container and returns once it serves.
// testcontainers-go's reaper is turned off unless the user configured it:
// its image cannot be pulled offline, and the environment removes its
// container itself (on Stop, and StopStaleContainers after a crash).
func StartContainer(ctx context.Context, o ContainerOptions) (*Container, error) {
	if err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").Run(); err != nil {
		return nil, fmt.Errorf("start the %s container: %w (docker info: %v)", o.Kind, ErrNoDocker, err)
	}
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	// A local daemon publishes the container's port on this host. Where a
	// /.dockerenv file exists (a VM image made from a container, as CI
	// machines often are), testcontainers-go would instead dial the
	// machine's default gateway, which does not forward the port.
	if h := os.Getenv("DOCKER_HOST"); os.Getenv("TESTCONTAINERS_HOST_OVERRIDE") == "" && (h == "" || strings.HasPrefix(h, "unix://")) {
		_ = os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "localhost")
	}
	labels := testcontainers.WithLabels(map[string]string{EnvLabel: o.Dir})
	var (
		c    testcontainers.Container
		port string
		err  error
	)
	switch o.Kind {
	case ContainerMoto:
		if exec.CommandContext(ctx, "docker", "image", "inspect", MotoImage).Run() != nil {
			return nil, fmt.Errorf("start the moto container: image %s is not on this machine; build it with hack/moto-image.sh", MotoImage)
		}
		port = "5000/tcp"
		c, err = testcontainers.Run(ctx, MotoImage, labels,
			testcontainers.WithExposedPorts(port),
			testcontainers.WithWaitStrategy(wait.ForHTTP("/moto-api/data.json").WithPort(port).WithStartupTimeout(60*time.Second)),
		)
	case ContainerLocalStack:
		env := map[string]string{}
		if tok := os.Getenv("LOCALSTACK_AUTH_TOKEN"); tok != "" {
			env["LOCALSTACK_AUTH_TOKEN"] = tok
		}
		port = "4566/tcp"
		var ls *localstack.LocalStackContainer
		ls, err = localstack.Run(ctx, LocalStackImage, labels, testcontainers.WithEnv(env))
		if ls != nil {
			c = ls
		}
	default:
		return nil, fmt.Errorf("unknown container backend %q: want %s or %s", o.Kind, ContainerMoto, ContainerLocalStack)
	}
	if err != nil {
		if c != nil {
			_ = c.Terminate(context.WithoutCancel(ctx))
		}
		return nil, fmt.Errorf("start the %s container: %w", o.Kind, err)
	}
	host, err := c.Host(ctx)
	if err == nil {
		var p interface{ Port() string }
		if p, err = c.MappedPort(ctx, port); err == nil {
			return &Container{c: c, url: "http://" + host + ":" + p.Port()}, nil
		}
	}
	_ = c.Terminate(context.WithoutCancel(ctx))
	return nil, fmt.Errorf("start the %s container: find its port: %w", o.Kind, err)
}

// URL is the container's endpoint on this machine.
func (c *Container) URL() string { return c.url }

// ID is the container's ID.
func (c *Container) ID() string { return c.c.GetContainerID() }

// State says whether the container runs, and when it does not, how it
// ended and the last line it logged.
func (c *Container) State(ctx context.Context) (running bool, exit, lastLine string) {
	st, err := c.c.State(ctx)
	if err != nil {
		return false, "state unknown: " + err.Error(), ""
	}
	if st.Running {
		return true, "", ""
	}
	exit = fmt.Sprintf("exit code %d", st.ExitCode)
	if st.OOMKilled {
		exit += ", killed for memory"
	}
	if rc, err := c.c.Logs(ctx); err == nil {
		b, _ := io.ReadAll(io.LimitReader(rc, 1<<20))
		rc.Close()
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		lastLine = strings.TrimSpace(lines[len(lines)-1])
	}
	return false, exit, lastLine
}

// Stop removes the container.
func (c *Container) Stop(ctx context.Context) error {
	if err := c.c.Terminate(ctx); err != nil {
		return fmt.Errorf("remove the backend container: %w", err)
	}
	return nil
}

// StopStaleContainers removes the containers a crashed environment of dir
// left, found by their label, and returns their IDs. Without Docker there
// is nothing to remove.
func StopStaleContainers(ctx context.Context, dir string) ([]string, error) {
	if exec.CommandContext(ctx, "docker", "version").Run() != nil {
		return nil, nil
	}
	out, err := exec.CommandContext(ctx, "docker", "ps", "-aq", "--filter", "label="+EnvLabel+"="+dir).Output()
	if err != nil {
		return nil, fmt.Errorf("list the backend containers of %s: %w", dir, err)
	}
	ids := strings.Fields(string(out))
	if len(ids) == 0 {
		return nil, nil
	}
	if out, err := exec.CommandContext(ctx, "docker", append([]string{"rm", "-f"}, ids...)...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("remove the backend containers of %s: %w: %s", dir, err, out)
	}
	return ids, nil
}
