package grpcout

// The Go code in outputspb is generated from proto/ by Debian's protoc
// (packages protobuf-compiler and libprotobuf-dev) with protoc-gen-go and
// protoc-gen-go-grpc at the versions go.mod pins as tools.
//go:generate sh -c "protoc -I proto --plugin=protoc-gen-go=$(go tool -n protoc-gen-go) --plugin=protoc-gen-go-grpc=$(go tool -n protoc-gen-go-grpc) --go_out=. --go_opt=module=github.com/vigilsec/vigil/output/grpcout --go-grpc_out=. --go-grpc_opt=module=github.com/vigilsec/vigil/output/grpcout vigil/outputs/v1/outputs.proto"
