// dp-bench-client: the one client of benchmarks/grpc, run unchanged against our
// server and against the grpc-go peer. It dials like kubelet's device manager (grpc-go,
// custom Unix dialer, authority "localhost"), then on one channel:
//
//  1. Allocate: `warmup` calls, then `calls` sequential timed calls (one container,
//     `ids` device IDs each); prints p50/p90/p99/mean/max in microseconds.
//  2. ListAndWatch: reads the first list plus `updates` updates; prints messages/s
//     over the updates (clock starts at the first list), then cancels the stream.
//
// Like kubelet, Allocate and ListAndWatch carry no deadline (no grpc-timeout header);
// `-deadline D` gives each Allocate call its own D deadline instead, as kubelet does
// for PreStartContainer (30 s). `-timeout` is a watchdog for the whole run, not a
// call deadline.
//
// Output: one JSON object on stdout. Exits non-zero on any RPC error, a wrong
// response, or the watchdog firing.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	api "dpbench/v1beta1"
)

type allocateResult struct {
	Calls  int     `json:"calls"`
	P50us  float64 `json:"p50_us"`
	P90us  float64 `json:"p90_us"`
	P99us  float64 `json:"p99_us"`
	MeanUs float64 `json:"mean_us"`
	MaxUs  float64 `json:"max_us"`
}

type watchResult struct {
	Updates      int     `json:"updates"`
	Devices      int     `json:"devices"`
	FirstMs      float64 `json:"first_list_ms"`
	Seconds      float64 `json:"seconds"`
	PerSecond    float64 `json:"per_s"`
	BytesPerList int     `json:"bytes_per_list"`
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "dp-bench-client: "+format+"\n", args...)
	os.Exit(1)
}

func percentile(sorted []time.Duration, p float64) float64 {
	i := int(p*float64(len(sorted))+0.5) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return float64(sorted[i].Nanoseconds()) / 1e3
}

func main() {
	socket := flag.String("socket", "", "server socket path")
	calls := flag.Int("calls", 20000, "timed sequential Allocate calls")
	warmup := flag.Int("warmup", 2000, "untimed Allocate calls first")
	ids := flag.Int("ids", 2, "device IDs per Allocate request")
	updates := flag.Int("updates", 20000, "ListAndWatch updates to read after the first list (the server's -updates)")
	devices := flag.Int("devices", 8, "devices the server lists (checked)")
	deadline := flag.Duration("deadline", 0, "per-call Allocate deadline (0: none, as kubelet)")
	timeout := flag.Duration("timeout", 120*time.Second, "watchdog: exit 1 after this long")
	flag.Parse()
	if *socket == "" {
		fail("-socket is required")
	}
	time.AfterFunc(*timeout, func() { fail("watchdog: the run took longer than %v", *timeout) })
	ctx := context.Background()
	dialCtx, cancelDial := context.WithTimeout(ctx, 10*time.Second) // kubelet: 10 s
	defer cancelDial()

	conn, err := grpc.DialContext(dialCtx, *socket,
		grpc.WithInsecure(), grpc.WithBlock(), grpc.WithAuthority("localhost"),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", addr)
		}))
	if err != nil {
		fail("dial %s: %v", *socket, err)
	}
	defer conn.Close()
	client := api.NewDevicePluginClient(conn)

	// 1. Allocate round trips.
	request := &api.AllocateRequest{ContainerRequests: []*api.ContainerAllocateRequest{{}}}
	for i := 1; i <= *ids; i++ {
		request.ContainerRequests[0].DevicesIds = append(request.ContainerRequests[0].DevicesIds, "Dev-"+strconv.Itoa(i))
	}
	want := strings.Join(request.ContainerRequests[0].DevicesIds, ",")
	check := func(r *api.AllocateResponse) {
		if len(r.ContainerResponses) != 1 || r.ContainerResponses[0].Envs["DEVICES"] != want || len(r.ContainerResponses[0].Devices) != *ids {
			fail("unexpected Allocate response: %v", r)
		}
	}
	allocate := func() (*api.AllocateResponse, error) {
		if *deadline <= 0 {
			return client.Allocate(ctx, request)
		}
		callCtx, cancelCall := context.WithTimeout(ctx, *deadline)
		defer cancelCall()
		return client.Allocate(callCtx, request)
	}
	for i := 0; i < *warmup; i++ {
		r, err := allocate()
		if err != nil {
			fail("Allocate (warm-up %d): %v", i, err)
		}
		check(r)
	}
	samples := make([]time.Duration, *calls)
	var total time.Duration
	for i := range samples {
		start := time.Now()
		r, err := allocate()
		samples[i] = time.Since(start)
		if err != nil {
			fail("Allocate %d: %v", i, err)
		}
		check(r)
		total += samples[i]
	}
	sort.Slice(samples, func(a, b int) bool { return samples[a] < samples[b] })
	alloc := allocateResult{Calls: *calls}
	if *calls > 0 {
		alloc.P50us = percentile(samples, 0.50)
		alloc.P90us = percentile(samples, 0.90)
		alloc.P99us = percentile(samples, 0.99)
		alloc.MeanUs = float64(total.Nanoseconds()) / float64(*calls) / 1e3
		alloc.MaxUs = float64(samples[len(samples)-1].Nanoseconds()) / 1e3
	}

	// 2. ListAndWatch throughput.
	watchCtx, stop := context.WithCancel(ctx)
	called := time.Now()
	stream, err := client.ListAndWatch(watchCtx, &api.Empty{})
	if err != nil {
		fail("ListAndWatch: %v", err)
	}
	first, err := stream.Recv()
	if err != nil {
		fail("ListAndWatch first list: %v", err)
	}
	started := time.Now()
	if len(first.Devices) != *devices {
		fail("ListAndWatch listed %d devices, want %d", len(first.Devices), *devices)
	}
	last := first
	for i := 0; i < *updates; i++ {
		if last, err = stream.Recv(); err != nil {
			fail("ListAndWatch update %d: %v", i, err)
		}
	}
	elapsed := time.Since(started)
	stop()
	// After U toggles device k (0-based) has flipped ceil((U-k)/n) times.
	for k, d := range last.Devices {
		flips := 0
		if *updates > k {
			flips = (*updates - k + *devices - 1) / *devices
		}
		wantHealth := "Healthy"
		if flips%2 == 1 {
			wantHealth = "Unhealthy"
		}
		if d.Health != wantHealth {
			fail("after %d updates device %s is %s, want %s", *updates, d.ID, d.Health, wantHealth)
		}
	}
	watch := watchResult{Updates: *updates, Devices: *devices,
		FirstMs: float64(started.Sub(called).Nanoseconds()) / 1e6, Seconds: elapsed.Seconds()}
	if elapsed > 0 {
		watch.PerSecond = float64(*updates) / elapsed.Seconds()
	}
	watch.BytesPerList = proto.Size(first)

	out, _ := json.Marshal(map[string]interface{}{"allocate": alloc, "listandwatch": watch})
	fmt.Println(string(out))
}
