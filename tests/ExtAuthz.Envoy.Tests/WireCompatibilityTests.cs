using System.Collections;
using System.Reflection;
using Envoy.Config.Core.V3;
using Envoy.Service.Auth.V3;
using Envoy.Type.V3;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;

namespace ExtAuthz.Envoy.Tests;

/// <summary>
/// Our protos (protos/) against Envoy's upstream ones. Every message, nested message, enum, enum value,
/// field, oneof, service and method we declare must exist upstream with the same full name, number, type,
/// label, map-ness and oneof membership, and we must declare everything upstream puts in them; and bytes
/// must mean the same thing under both schemas, in both directions.
/// <para>
/// Run: <c>dotnet test tests/ExtAuthz.Envoy.Tests</c>. The tests fetch <c>@grpc/grpc-js-xds@1.14.1</c> with
/// <c>npm pack</c> (once per build output) and compile its Envoy protos with the protoc inside Grpc.Tools
/// (see <see cref="UpstreamEnvoyProtos"/>). Without npm or the npm registry they fail, never skip: CI
/// relies on them to prove the wire format.
/// </para>
/// </summary>
public sealed class WireCompatibilityTests
{
    private const string CheckRequestName = ".envoy.service.auth.v3.CheckRequest";
    private const string CheckResponseName = ".envoy.service.auth.v3.CheckResponse";

    /// <summary>Our compiled envoy.* files: those <c>external_auth.proto</c> imports, and any other in the assembly.</summary>
    private static readonly FileDescriptor[] Ours = OurEnvoyFiles();

    [Fact]
    public void Our_envoy_files_are_the_ones_ext_authz_needs()
    {
        Assert.Equal(
            [
                "envoy/config/core/v3/address.proto", "envoy/config/core/v3/base.proto", "envoy/service/auth/v3/attribute_context.proto",
                "envoy/service/auth/v3/external_auth.proto", "envoy/type/v3/http_status.proto",
            ],
            Ours.Select(f => f.Name).Order(StringComparer.Ordinal));
        Assert.Equal("google/rpc/status.proto", CheckResponse.Descriptor.FindFieldByName("status").MessageType.File.Name);
    }

    [Fact]
    public void Every_element_we_declare_matches_upstream_and_we_declare_all_of_each()
    {
        var problems = DescriptorComparison.Differences(Ours.Select(f => f.ToProto()), UpstreamEnvoyProtos.Descriptors.File);

        Assert.True(problems.Count == 0, $"our protos differ from Envoy's ({UpstreamEnvoyProtos.Package}):\n" + string.Join('\n', problems));
    }

    [Fact]
    public void The_service_is_envoys_authorization_check()
    {
        var method = Authorization.Descriptor.FindMethodByName("Check");

        Assert.Equal("/envoy.service.auth.v3.Authorization/Check", $"/{method.Service.FullName}/{method.Name}");
        Assert.Same(CheckRequest.Descriptor, method.InputType);
        Assert.Same(CheckResponse.Descriptor, method.OutputType);
        Assert.False(method.IsClientStreaming || method.IsServerStreaming);
        var upstream = new UpstreamIndex(UpstreamEnvoyProtos.Descriptors.File).Services[".envoy.service.auth.v3.Authorization"];
        var theirs = upstream.Method.Single(m => m.Name == "Check");
        Assert.Equal((CheckRequestName, CheckResponseName, false, false), (theirs.InputType, theirs.OutputType, theirs.ClientStreaming, theirs.ServerStreaming));
        Assert.True(typeof(Authorization.AuthorizationBase).IsAbstract);
        Assert.Equal("/envoy.service.auth.v3.Authorization/Check", AuthorizationService.CheckMethod.FullName);
        Assert.Equal(Grpc.Core.MethodType.Unary, AuthorizationService.CheckMethod.Type);
        Assert.NotNull(typeof(Authorization.AuthorizationClient).GetConstructor([typeof(Grpc.Core.CallInvoker)]));
    }

    [Fact]
    public void The_comparison_names_each_mismatching_element()
    {
        var upstream = UpstreamEnvoyProtos.Descriptors.File;
        var auth = ExternalAuthReflection.Descriptor.ToProto().Clone();
        auth.MessageType.Single(m => m.Name == "CheckRequest").Field[0].Number = 7;
        auth.MessageType.Single(m => m.Name == "OkHttpResponse").Field.Single(f => f.Name == "headers_to_remove").Label = FieldDescriptorProto.Types.Label.Optional;
        auth.Service[0].Method[0].OutputType = ".envoy.service.auth.v3.OkHttpResponse";
        var attributes = AttributeContextReflection.Descriptor.ToProto().Clone();
        var http = attributes.MessageType[0].NestedType.Single(m => m.Name == "HttpRequest");
        http.Field.Remove(http.Field.Single(f => f.Name == "header_map"));
        http.Field.Single(f => f.Name == "raw_body").Type = FieldDescriptorProto.Types.Type.String;
        var address = AddressReflection.Descriptor.ToProto().Clone();
        address.MessageType.Single(m => m.Name == "SocketAddress").Field.Single(f => f.Name == "port_value").ClearOneofIndex();
        address.MessageType.Single(m => m.Name == "Pipe").Field.Add(new FieldDescriptorProto { Name = "owner", Number = 9, Type = FieldDescriptorProto.Types.Type.String, Label = FieldDescriptorProto.Types.Label.Optional });
        var @base = BaseReflection.Descriptor.ToProto().Clone();
        @base.MessageType.Single(m => m.Name == "HeaderValueOption").EnumType[0].Value.Single(v => v.Name == "OVERWRITE_IF_EXISTS_OR_ADD").Number = 5;
        @base.MessageType.Single(m => m.Name == "Metadata").Field[0].TypeName = ".google.protobuf.Struct";

        var problems = string.Join('\n', DescriptorComparison.Differences([auth, attributes, address, @base], upstream));

        Assert.Contains("field .envoy.service.auth.v3.CheckRequest.attributes: ours #7", problems, StringComparison.Ordinal);
        Assert.Contains("field .envoy.service.auth.v3.OkHttpResponse.headers_to_remove: ours #5 Optional", problems, StringComparison.Ordinal);
        Assert.Contains("method .envoy.service.auth.v3.Authorization.Check: ours", problems, StringComparison.Ordinal);
        Assert.Contains("field .envoy.service.auth.v3.AttributeContext.HttpRequest.header_map (= 13", problems, StringComparison.Ordinal);
        Assert.Contains("field .envoy.service.auth.v3.AttributeContext.HttpRequest.raw_body: ours #12 Optional String", problems, StringComparison.Ordinal);
        Assert.Contains("field .envoy.config.core.v3.SocketAddress.port_value: ours #3 Optional Uint32, upstream #3 Optional Uint32 in oneof port_specifier", problems, StringComparison.Ordinal);
        Assert.Contains("field .envoy.config.core.v3.Pipe.owner (= 9) does not exist upstream", problems, StringComparison.Ordinal);
        Assert.Contains("enum value .envoy.config.core.v3.HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD = 5: upstream = 2", problems, StringComparison.Ordinal);
        Assert.Contains("field .envoy.config.core.v3.Metadata.filter_metadata: ours #1 Repeated Message .google.protobuf.Struct", problems, StringComparison.Ordinal);
        Assert.Equal(9, problems.Split('\n').Length);
    }

    [Fact]
    public void Checks_encoded_by_upstreams_schema_parse_into_our_types_field_for_field()
    {
        var wire = new UpstreamWire(new UpstreamIndex(UpstreamEnvoyProtos.Descriptors.File));
        var problems = new List<string>();
        for (var variant = 0; variant < 6; variant++)
        {
            RoundTrip(wire, CheckRequestName, CheckRequest.Parser, variant, problems);
            RoundTrip(wire, CheckResponseName, CheckResponse.Parser, variant, problems);
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
        var missed = Ours.SelectMany(f => AllMessages(f.MessageTypes))
            .SelectMany(m => m.Fields.InDeclarationOrder().Select(f => (Message: "." + m.FullName, Field: f.Name)))
            .Where(f => !wire.Seen.Contains(f))
            .ToList();
        Assert.True(missed.Count == 0, "fields the round trips never carried: " + string.Join(", ", missed));
    }

    [Fact]
    public void A_check_built_the_way_Envoy_builds_it_round_trips_and_reads_the_same_upstream()
    {
        var request = new CheckRequest
        {
            Attributes = new AttributeContext
            {
                Source = new AttributeContext.Types.Peer
                {
                    Address = new Address { SocketAddress = new SocketAddress { Address = "203.0.113.7", PortValue = 51000 } },
                    Principal = "CN=sensor-1",
                    Certificate = "-----BEGIN%20CERTIFICATE-----%0AMIIB-----END%20CERTIFICATE-----%0A",
                    Labels = { ["app"] = "device" },
                },
                Destination = new AttributeContext.Types.Peer { Address = new Address { Pipe = new Pipe { Path = "/run/envoy.sock", Mode = 384 } } },
                Request = new AttributeContext.Types.Request
                {
                    Time = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch.AddSeconds(1_700_000_000)),
                    Http = new AttributeContext.Types.HttpRequest
                    {
                        Id = "1", Method = "POST", Path = "/topics/a?qos=1", Host = "iot.example.com", Scheme = "https", Size = 2, Protocol = "HTTP/2",
                        Headers = { [":authority"] = "iot.example.com", [":method"] = "POST" },
                        HeaderMap = new HeaderMap { Headers = { new HeaderValue { Key = "x", RawValue = ByteString.CopyFromUtf8("y") } } },
                        RawBody = ByteString.CopyFromUtf8("{}"),
                    },
                },
                ContextExtensions = { ["plane"] = "data" },
                MetadataContext = new Metadata { FilterMetadata = { ["f"] = new Struct { Fields = { ["k"] = Value.ForString("v") } } } },
                RouteMetadataContext = new Metadata { TypedFilterMetadata = { ["t"] = Any.Pack(new StringValue { Value = "x" }) } },
                TlsSession = new AttributeContext.Types.TLSSession { Sni = "iot.example.com" },
            },
        };
        var denied = new CheckResponse
        {
            Status = new Google.Rpc.Status { Code = 7, Message = "denied" },
            DeniedResponse = new DeniedHttpResponse
            {
                Status = new HttpStatus { Code = StatusCode.Forbidden },
                Headers = { new HeaderValueOption { Header = new HeaderValue { Key = "content-type", Value = "application/json" }, AppendAction = HeaderValueOption.Types.HeaderAppendAction.OverwriteIfExistsOrAdd } },
                Body = "{}",
            },
            DynamicMetadata = new Struct { Fields = { ["decision"] = Value.ForString("EXPLICIT_DENY") } },
        };
        var allowed = new CheckResponse
        {
            Status = new Google.Rpc.Status(),
            OkResponse = new OkHttpResponse
            {
                Headers = { new HeaderValueOption { Header = new HeaderValue { Key = "x-iot-principal", Value = "abc" }, AppendAction = HeaderValueOption.Types.HeaderAppendAction.OverwriteIfExistsOrAdd } },
                HeadersToRemove = { "x-iot-principal" },
                ResponseHeadersToAdd = { new HeaderValueOption { Header = new HeaderValue { Key = "x-decision", Value = "d1" }, KeepEmptyValue = true } },
                QueryParametersToSet = { new QueryParameter { Key = "q", Value = "1" } },
                QueryParametersToRemove = { "r" },
            },
        };
        var wire = new UpstreamWire(new UpstreamIndex(UpstreamEnvoyProtos.Descriptors.File));
        var problems = new List<string>();

        foreach (var (message, name) in new (IMessage, string)[] { (request, CheckRequestName), (denied, CheckResponseName), (allowed, CheckResponseName) })
        {
            var bytes = message.ToByteArray();
            var copy = message.Descriptor.Parser.ParseFrom(bytes);
            Assert.Equal(message, copy);
            AssertNoUnknownFields(copy, name);
            Assert.NotEmpty(wire.Dump(bytes, name, message.Descriptor, problems));
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
        Assert.Contains((".envoy.service.auth.v3.AttributeContext.Peer", "certificate"), wire.Seen);
        Assert.Contains((".envoy.service.auth.v3.OkHttpResponse", "query_parameters_to_remove"), wire.Seen);
    }

    /// <summary>
    /// Upstream-encoded bytes → our type → our bytes: nothing lands in unknown fields, and upstream's
    /// reading of our bytes is line for line its reading of the original.
    /// </summary>
    private static void RoundTrip(UpstreamWire wire, string name, MessageParser parser, int variant, List<string> problems)
    {
        var original = wire.Sample(name, variant);
        var ours = parser.ParseFrom(original);
        AssertNoUnknownFields(ours, $"{name} (variant {variant})");
        var before = wire.Dump(original, name, ours.Descriptor, problems);
        var after = wire.Dump(ours.ToByteArray(), name, ours.Descriptor, problems);
        var lost = before.Except(after).ToList();
        var gained = after.Except(before).ToList();
        if (lost.Count > 0 || gained.Count > 0)
        {
            problems.Add($"{name} variant {variant} changed through our types: lost [{string.Join(", ", lost)}], gained [{string.Join(", ", gained)}]");
        }
    }

    private static void AssertNoUnknownFields(IMessage message, string path)
    {
        var unknown = message.GetType().GetField("_unknownFields", BindingFlags.Instance | BindingFlags.NonPublic)
            ?? throw new InvalidOperationException($"{message.GetType()} has no _unknownFields: has Google.Protobuf's generated code changed?");
        Assert.True(unknown.GetValue(message) is null, $"{path} ({message.Descriptor.FullName}) parsed with unknown fields: {message}");
        foreach (var field in message.Descriptor.Fields.InFieldNumberOrder().Where(f => f.FieldType == FieldType.Message))
        {
            var value = field.Accessor.GetValue(message);
            var children = value switch
            {
                IDictionary map => map.Values.OfType<IMessage>(),
                IList list => list.OfType<IMessage>(),
                IMessage single => [single],
                _ => [],
            };
            foreach (var child in children)
            {
                AssertNoUnknownFields(child, $"{path}.{field.Name}");
            }
        }
    }

    private static IEnumerable<MessageDescriptor> AllMessages(IEnumerable<MessageDescriptor> messages) =>
        messages.SelectMany(m => AllMessages(m.NestedTypes).Prepend(m));

    private static FileDescriptor[] OurEnvoyFiles()
    {
        var found = new Dictionary<string, FileDescriptor>(StringComparer.Ordinal);
        var pending = new Stack<FileDescriptor>(
            typeof(CheckRequest).Assembly.GetTypes()
                .Select(t => t.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static)?.GetValue(null))
                .OfType<FileDescriptor>()
                .Append(ExternalAuthReflection.Descriptor));
        while (pending.TryPop(out var file))
        {
            if (file.Package.StartsWith("envoy.", StringComparison.Ordinal) && found.TryAdd(file.Name, file))
            {
                foreach (var dependency in file.Dependencies)
                {
                    pending.Push(dependency);
                }
            }
        }

        return [.. found.Values.OrderBy(f => f.Name, StringComparer.Ordinal)];
    }
}
