// dp-peer-server: the benchmark's reference peer. The DevicePlugin v1beta1 service on
// grpc-go (Debian's golang-google-grpc-dev), doing what Tests/InteropServer's `serve`
// does: the same devices, the same Allocate response shape, the same ListAndWatch
// health toggles. Built by benchmarks/grpc/peer-go/build (GOPATH mode, offline).
//
//	dp-peer-server -socket PATH -devices N -updates U
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	api "dpbench/v1beta1"
)

const (
	healthy   = "Healthy"
	unhealthy = "Unhealthy"
)

type plugin struct {
	api.UnimplementedDevicePluginServer
	devices int
	updates int
}

func (p *plugin) GetDevicePluginOptions(context.Context, *api.Empty) (*api.DevicePluginOptions, error) {
	return &api.DevicePluginOptions{PreStartRequired: true, GetPreferredAllocationAvailable: true}, nil
}

// ListAndWatch sends the device list, then `updates` health toggles (each a full list,
// as kubelet expects), then holds the stream open until the client goes away.
func (p *plugin) ListAndWatch(_ *api.Empty, stream api.DevicePlugin_ListAndWatchServer) error {
	n := p.devices
	if n < 1 {
		n = 1
	}
	list := make([]*api.Device, n)
	for i := range list {
		list[i] = &api.Device{ID: "Dev-" + strconv.Itoa(i+1), Health: healthy,
			Topology: &api.TopologyInfo{Nodes: []*api.NUMANode{{ID: 0}}}}
	}
	if err := stream.Send(&api.ListAndWatchResponse{Devices: list}); err != nil {
		return err
	}
	for update := 0; update < p.updates; update++ {
		d := list[update%n]
		if d.Health == healthy {
			d.Health = unhealthy
		} else {
			d.Health = healthy
		}
		if err := stream.Send(&api.ListAndWatchResponse{Devices: list}); err != nil {
			return err
		}
	}
	<-stream.Context().Done()
	return stream.Context().Err()
}

func (p *plugin) GetPreferredAllocation(_ context.Context, req *api.PreferredAllocationRequest) (*api.PreferredAllocationResponse, error) {
	resp := &api.PreferredAllocationResponse{}
	for _, c := range req.ContainerRequests {
		must := map[string]bool{}
		for _, id := range c.MustIncludeDeviceIDs {
			must[id] = true
		}
		chosen := append([]string{}, c.MustIncludeDeviceIDs...)
		for _, id := range c.AvailableDeviceIDs {
			if len(chosen) >= int(c.AllocationSize) {
				break
			}
			if !must[id] {
				chosen = append(chosen, id)
			}
		}
		resp.ContainerResponses = append(resp.ContainerResponses, &api.ContainerPreferredAllocationResponse{DeviceIDs: chosen})
	}
	return resp, nil
}

func (p *plugin) Allocate(ctx context.Context, req *api.AllocateRequest) (*api.AllocateResponse, error) {
	resp := &api.AllocateResponse{}
	for _, c := range req.ContainerRequests {
		r := &api.ContainerAllocateResponse{Envs: map[string]string{}}
		for _, id := range c.DevicesIds {
			if err := behave(ctx, id); err != nil {
				return nil, err
			}
			if size, ok := number("big-", id); ok {
				r.Envs["BIG"] = strings.Repeat("x", size)
			}
			r.Devices = append(r.Devices, &api.DeviceSpec{ContainerPath: "/dev/" + id, HostPath: "/dev/null", Permissions: "rw"})
		}
		r.Envs["DEVICES"] = strings.Join(c.DevicesIds, ",")
		resp.ContainerResponses = append(resp.ContainerResponses, r)
	}
	return resp, nil
}

func (p *plugin) PreStartContainer(ctx context.Context, req *api.PreStartContainerRequest) (*api.PreStartContainerResponse, error) {
	for _, id := range req.DevicesIds {
		if err := behave(ctx, id); err != nil {
			return nil, err
		}
	}
	return &api.PreStartContainerResponse{}, nil
}

func number(prefix, id string) (int, bool) {
	if !strings.HasPrefix(id, prefix) {
		return 0, false
	}
	n, err := strconv.Atoi(id[len(prefix):])
	return n, err == nil
}

// behave mirrors the test behaviours the Swift server encodes in device IDs.
func behave(ctx context.Context, id string) error {
	if ms, ok := number("slow-", id); ok {
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if code, ok := number("fail-", id); ok && code > 0 && code <= 16 {
		return status.Errorf(codes.Code(code), "requested failure for %s: ünïcödé %% 100", id)
	}
	return nil
}

func main() {
	socket := flag.String("socket", "", "socket path to serve on")
	devices := flag.Int("devices", 2, "number of devices")
	updates := flag.Int("updates", 0, "health changes ListAndWatch sends after the first list")
	flag.Parse()
	if *socket == "" {
		fmt.Fprintln(os.Stderr, "-socket is required")
		os.Exit(2)
	}
	os.Remove(*socket)
	lis, err := net.Listen("unix", *socket)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	server := grpc.NewServer()
	api.RegisterDevicePluginServer(server, &plugin{devices: *devices, updates: *updates})
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-signals; server.Stop(); os.Remove(*socket); os.Exit(0) }()
	fmt.Printf("serving %s\n", *socket)
	os.Stdout.Sync()
	if err := server.Serve(lis); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
