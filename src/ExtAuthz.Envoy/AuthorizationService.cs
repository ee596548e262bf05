using Envoy.Service.Auth.V3;
using ExtAuthz.Envoy.Checking;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ExtAuthz.Envoy;

/// <summary>
/// <c>envoy.service.auth.v3.Authorization/Check</c> over gRPC: a thin adapter over <see cref="CheckHandler"/>.
/// It always answers with gRPC OK, because Envoy treats any gRPC error as a failure of the service
/// (403 or failure_mode_allow) rather than as a decision. The method is bound by hand
/// (<see cref="AddCheckService"/>) rather than through the generated <c>AuthorizationBase</c>, so that the
/// answer goes to gRPC as a <see cref="CheckAnswer"/>, which writes itself into gRPC's buffer; the bytes
/// on the wire are a CheckResponse either way.
/// </summary>
public sealed class AuthorizationService(CheckHandler handler)
{
    /// <summary>
    /// The Check method: Envoy's service and method names; its CheckRequest read as a <see cref="ReceivedCheck"/>
    /// (only the fields a device's Check reads, the rest parsed when a Check needs it), our CheckAnswer written for its CheckResponse.
    /// </summary>
    public static Method<ReceivedCheck, CheckAnswer> CheckMethod { get; } = new(
        MethodType.Unary,
        Authorization.Descriptor.FullName,
        "Check",
        Marshallers.Create(WriteRequest, context => ReceivedCheck.Parse(context.PayloadAsReadOnlySequence())),
        Marshallers.Create<CheckAnswer>((answer, context) => answer.Serialize(context),
            _ => throw new NotSupportedException("a CheckAnswer is only ever sent; read a CheckResponse instead")));

    /// <summary>Registers the service and its Check method; map it with <c>MapGrpcService&lt;AuthorizationService&gt;()</c>.</summary>
    public static IServiceCollection AddCheckService(IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<AuthorizationService>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IServiceMethodProvider<AuthorizationService>, MethodProvider>());
        return services;
    }

    public Task<CheckAnswer> Check(ReceivedCheck request, ServerCallContext context) => Task.FromResult(handler.Answer(request));

    /// <summary>Never used by the server, which only reads requests; a marshaller is made with both directions.</summary>
    private static void WriteRequest(ReceivedCheck received, SerializationContext context)
    {
        if ((received.ParseError ?? received.Materialize()) is { } error)
        {
            throw new InvalidOperationException($"this CheckRequest was not read whole, so it cannot be sent on: {error}");
        }

        context.SetPayloadLength(received.Request.CalculateSize());
        Google.Protobuf.MessageExtensions.WriteTo(received.Request, context.GetBufferWriter());
        context.Complete();
    }

    private sealed class MethodProvider : IServiceMethodProvider<AuthorizationService>
    {
        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<AuthorizationService> context) =>
            context.AddUnaryMethod(CheckMethod, [], static (service, request, call) => service.Check(request, call));
    }
}
