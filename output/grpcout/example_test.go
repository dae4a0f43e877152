package grpcout_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/vigilsec/vigil/engine"
	"github.com/vigilsec/vigil/output"
	"github.com/vigilsec/vigil/output/grpcout"
	"github.com/vigilsec/vigil/output/grpcout/outputspb"
)

// A sensor serves alerts on a unix socket; a client subscribes and reads
// them.
func Example() {
	dir, err := os.MkdirTemp("", "vigil")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	addr := "unix://" + filepath.Join(dir, "vigil.sock")

	// The sensor side: the server is one of the Outputs' sinks.
	srv, err := grpcout.New(&grpcout.Options{Address: addr})
	if err != nil {
		log.Fatal(err)
	}
	outs := output.New([]output.Sink{srv}, nil)

	// The client side.
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	stream, err := outputspb.NewOutputsClient(conn).Subscribe(context.Background(), &outputspb.SubscribeRequest{})
	if err != nil {
		log.Fatal(err)
	}
	// The headers arrive once the subscription is active.
	if _, err := stream.Header(); err != nil {
		log.Fatal(err)
	}

	outs.Emit(&output.Alert{
		Time:     time.Now(),
		Rule:     "Read sensitive file untrusted",
		Priority: engine.PriorityWarning,
		Source:   "syscall",
		Hostname: "node-1",
		Message:  "Sensitive file opened for reading (file=/etc/shadow)",
		Fields:   []byte(`{"fd.name":"/etc/shadow","proc.pid":42}`),
	})
	a, err := stream.Recv()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.GetRule(), a.GetPriority(), a.GetOutputFields()["fd.name"], a.GetOutputFields()["proc.pid"])

	// Closing the Outputs closes the server, which ends the stream.
	if err := outs.Close(context.Background()); err != nil {
		log.Fatal(err)
	}
	_, err = stream.Recv()
	fmt.Println(err)
	// Output:
	// Read sensitive file untrusted PRIORITY_WARNING /etc/shadow 42
	// EOF
}
