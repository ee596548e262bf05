using Envoy.Service.Auth.V3;
using ExtAuthz.Envoy.Checking;
using Grpc.Core;

namespace ExtAuthz.Envoy;

/// <summary>
/// <c>envoy.service.auth.v3.Authorization/Check</c> over gRPC: a thin adapter over <see cref="CheckHandler"/>.
/// It always answers with gRPC OK, because Envoy treats any gRPC error as a failure of the service
/// (403 or failure_mode_allow) rather than as a decision.
/// </summary>
public sealed class AuthorizationService(CheckHandler handler) : Authorization.AuthorizationBase
{
    public override Task<CheckResponse> Check(CheckRequest request, ServerCallContext context) =>
        Task.FromResult(handler.Check(request));
}
