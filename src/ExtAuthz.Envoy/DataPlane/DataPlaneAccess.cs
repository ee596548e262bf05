namespace ExtAuthz.Envoy.DataPlane;

/// <summary>
/// One permission a data-plane operation needs: an IAM action (<c>iot:Publish</c>) and the resource,
/// relative to <c>arn:aws:iot:{region}:{account}:</c> (<c>topic/a/b</c>, <c>thing/t1/shadow1</c>), or
/// the literal <c>*</c> where AWS documents that the resource must be <c>*</c>.
/// </summary>
public readonly record struct DataPlaneAccess(string Action, string Resource);
