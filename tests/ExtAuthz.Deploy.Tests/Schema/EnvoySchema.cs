using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace ExtAuthz.Deploy.Tests.Schema;

/// <summary>
/// Envoy's API loaded at run time: the compiled descriptor set (<see cref="EnvoyApiPackage"/>) with the
/// <see cref="SchemaOverlay"/>, built into descriptors with <see cref="FileDescriptor.BuildFromByteStrings(IEnumerable{ByteString})"/>,
/// a <see cref="TypeRegistry"/> for <c>@type</c> URLs, and the protoc-gen-validate rules of its fields.
/// </summary>
internal sealed class EnvoySchema
{
    private static readonly Lazy<EnvoySchema> Loaded = new(() => new EnvoySchema(EnvoyApiPackage.Descriptors), LazyThreadSafetyMode.ExecutionAndPublication);

    private EnvoySchema(FileDescriptorSet set)
    {
        // protoc writes an --include_imports set in dependency order, which BuildFromByteStrings needs.
        Files = FileDescriptor.BuildFromByteStrings(SchemaOverlay.Apply(set.File).Select(f => f.ToByteString()));
        Registry = TypeRegistry.FromFiles(Files.ToArray());
        Rules = new ValidateRules(Files);
    }

    public static EnvoySchema Instance => Loaded.Value;

    public IReadOnlyList<FileDescriptor> Files { get; }

    public TypeRegistry Registry { get; }

    public ValidateRules Rules { get; }

    public MessageDescriptor Message(string fullName) =>
        Registry.Find(fullName) ?? throw new InvalidOperationException($"{fullName} is not in Envoy's API as compiled from {EnvoyApiPackage.Package}");
}
