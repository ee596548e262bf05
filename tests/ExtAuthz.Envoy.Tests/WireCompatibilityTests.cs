using Envoy.Config.Core.V3;
using Envoy.Service.Auth.V3;
using Envoy.Type.V3;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;

namespace ExtAuthz.Envoy.Tests;

/// <summary>
/// Our protos (protos/) against Envoy's upstream ones: every message, enum, value, field, oneof and RPC
/// we declare must exist upstream with the same full name, number, type and label. Fields we leave out
/// are fine (protobuf keeps them as unknown fields); a difference in anything we declare would corrupt
/// the wire. Run: <c>dotnet test tests/ExtAuthz.Envoy.Tests</c> (fetches the upstream package with npm).
/// </summary>
public sealed class WireCompatibilityTests
{
    private static readonly FileDescriptor[] Ours =
    [
        ExternalAuthReflection.Descriptor, AttributeContextReflection.Descriptor, BaseReflection.Descriptor,
        AddressReflection.Descriptor, HttpStatusReflection.Descriptor,
    ];

    [Fact]
    public void Every_declared_message_enum_and_field_matches_upstream()
    {
        var upstream = Index(UpstreamEnvoyProtos.Descriptors.File);
        var problems = new List<string>();
        foreach (var file in Ours)
        {
            var proto = file.ToProto();
            foreach (var message in proto.MessageType)
            {
                CompareMessage($".{proto.Package}", message, upstream, problems);
            }

            foreach (var enumeration in proto.EnumType)
            {
                CompareEnum($".{proto.Package}", enumeration, upstream, problems);
            }
        }

        Assert.True(problems.Count == 0, "differences from Envoy's protos:\n" + string.Join('\n', problems));
    }

    [Fact]
    public void The_service_and_its_method_match_upstream()
    {
        var upstream = UpstreamEnvoyProtos.Descriptors.File.Single(f => f.Name == "envoy/service/auth/v3/external_auth.proto").Service.Single();
        var ours = ExternalAuthReflection.Descriptor.ToProto().Service.Single();

        Assert.Equal(upstream.Name, ours.Name);
        var method = Assert.Single(ours.Method);
        var theirs = upstream.Method.Single(m => m.Name == method.Name);
        Assert.Equal((theirs.InputType, theirs.OutputType, theirs.ClientStreaming, theirs.ServerStreaming),
            (method.InputType, method.OutputType, method.ClientStreaming, method.ServerStreaming));
        Assert.Equal("/envoy.service.auth.v3.Authorization/Check", Authorization.Descriptor.FindMethodByName("Check") is { } m ? $"/{m.Service.FullName}/{m.Name}" : null);
    }

    [Fact]
    public void We_declare_every_field_of_the_messages_ext_authz_exchanges()
    {
        var upstream = Index(UpstreamEnvoyProtos.Descriptors.File);
        foreach (var descriptor in new MessageDescriptor[] { CheckRequest.Descriptor, CheckResponse.Descriptor, AttributeContext.Descriptor, OkHttpResponse.Descriptor, DeniedHttpResponse.Descriptor, HeaderValueOption.Descriptor, HeaderValue.Descriptor })
        {
            var theirs = (DescriptorProto)upstream["." + descriptor.FullName];
            Assert.Equal(theirs.Field.Select(f => f.Name).Order(), descriptor.Fields.InDeclarationOrder().Select(f => f.Name).Order());
        }
    }

    [Fact]
    public void A_fully_populated_check_round_trips_without_unknown_fields()
    {
        var request = new CheckRequest
        {
            Attributes = new AttributeContext
            {
                Source = new AttributeContext.Types.Peer
                {
                    Address = new Address { SocketAddress = new SocketAddress { Address = "203.0.113.7", PortValue = 51000 } },
                    Principal = "CN=sensor-1",
                    Certificate = "-----BEGIN%20CERTIFICATE-----",
                    Labels = { ["app"] = "device" },
                },
                Destination = new AttributeContext.Types.Peer { Address = new Address { Pipe = new Pipe { Path = "/run/envoy.sock", Mode = 384 } } },
                Request = new AttributeContext.Types.Request
                {
                    Time = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch),
                    Http = new AttributeContext.Types.HttpRequest
                    {
                        Id = "1", Method = "POST", Path = "/topics/a?qos=1", Host = "iot.example.com", Scheme = "https", Size = 2, Protocol = "HTTP/2",
                        Headers = { [":authority"] = "iot.example.com" },
                        HeaderMap = new HeaderMap { Headers = { new HeaderValue { Key = "x", RawValue = ByteString.CopyFromUtf8("y") } } },
                        RawBody = ByteString.CopyFromUtf8("{}"),
                    },
                },
                ContextExtensions = { ["plane"] = "data" },
                MetadataContext = new Metadata { FilterMetadata = { ["f"] = new Struct { Fields = { ["k"] = Value.ForString("v") } } } },
                TlsSession = new AttributeContext.Types.TLSSession { Sni = "iot.example.com" },
            },
        };
        var response = new CheckResponse
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

        var requestCopy = CheckRequest.Parser.ParseFrom(request.ToByteArray());
        var responseCopy = CheckResponse.Parser.ParseFrom(response.ToByteArray());

        Assert.Equal(request, requestCopy);
        Assert.Equal(response, responseCopy);
        Assert.Equal(403, (int)responseCopy.DeniedResponse.Status.Code);
    }

    private static Dictionary<string, object> Index(IEnumerable<FileDescriptorProto> files)
    {
        var index = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            foreach (var message in file.MessageType)
            {
                AddMessage($".{file.Package}", message, index);
            }

            foreach (var enumeration in file.EnumType)
            {
                index[$".{file.Package}.{enumeration.Name}"] = enumeration;
            }
        }

        return index;
    }

    private static void AddMessage(string scope, DescriptorProto message, Dictionary<string, object> index)
    {
        var name = $"{scope}.{message.Name}";
        index[name] = message;
        foreach (var nested in message.NestedType)
        {
            AddMessage(name, nested, index);
        }

        foreach (var enumeration in message.EnumType)
        {
            index[$"{name}.{enumeration.Name}"] = enumeration;
        }
    }

    private static void CompareMessage(string scope, DescriptorProto ours, Dictionary<string, object> upstream, List<string> problems)
    {
        var name = $"{scope}.{ours.Name}";
        if (!upstream.TryGetValue(name, out var found) || found is not DescriptorProto theirs)
        {
            problems.Add($"message {name} does not exist upstream");
            return;
        }

        if ((ours.Options?.MapEntry ?? false) != (theirs.Options?.MapEntry ?? false))
        {
            problems.Add($"message {name}: map entry {ours.Options?.MapEntry ?? false}, upstream {theirs.Options?.MapEntry ?? false}");
        }

        foreach (var field in ours.Field)
        {
            var other = theirs.Field.FirstOrDefault(f => f.Name == field.Name);
            if (other is null)
            {
                problems.Add($"field {name}.{field.Name} does not exist upstream");
                continue;
            }

            var oursShape = (field.Number, field.Type, field.TypeName, field.Label, Oneof(ours, field), field.Proto3Optional);
            var theirShape = (other.Number, other.Type, other.TypeName, other.Label, Oneof(theirs, other), other.Proto3Optional);
            if (oursShape != theirShape)
            {
                problems.Add($"field {name}.{field.Name}: ours {oursShape}, upstream {theirShape}");
            }
        }

        foreach (var nested in ours.NestedType)
        {
            CompareMessage(name, nested, upstream, problems);
        }

        foreach (var enumeration in ours.EnumType)
        {
            CompareEnum(name, enumeration, upstream, problems);
        }
    }

    private static string? Oneof(DescriptorProto message, FieldDescriptorProto field) =>
        field.HasOneofIndex ? message.OneofDecl[field.OneofIndex].Name : null;

    private static void CompareEnum(string scope, EnumDescriptorProto ours, Dictionary<string, object> upstream, List<string> problems)
    {
        var name = $"{scope}.{ours.Name}";
        if (!upstream.TryGetValue(name, out var found) || found is not EnumDescriptorProto theirs)
        {
            problems.Add($"enum {name} does not exist upstream");
            return;
        }

        foreach (var value in ours.Value)
        {
            var other = theirs.Value.FirstOrDefault(v => v.Name == value.Name);
            if (other is null || other.Number != value.Number)
            {
                problems.Add($"enum value {name}.{value.Name} = {value.Number}: upstream {(other is null ? "has no such value" : $"= {other.Number}")}");
            }
        }
    }
}
