using Google.Protobuf.Reflection;

namespace ExtAuthz.Envoy.Tests;

/// <summary>
/// Compares our compiled proto files with Envoy's, element by element, and names every difference
/// that matters on the wire (or to anyone reading our descriptors through reflection): a message, enum,
/// enum value, field, oneof, service or method we declare that upstream lacks or shapes differently,
/// and anything upstream declares inside one of our messages, enums or services that we left out.
/// </summary>
internal static class DescriptorComparison
{
    /// <summary>Every difference between <paramref name="ours"/> and <paramref name="upstream"/>, one line each.</summary>
    public static List<string> Differences(IEnumerable<FileDescriptorProto> ours, IEnumerable<FileDescriptorProto> upstream)
    {
        var index = new UpstreamIndex(upstream);
        var problems = new List<string>();
        foreach (var file in ours)
        {
            if (!index.Files.TryGetValue(file.Name, out var upstreamFile))
            {
                problems.Add($"file {file.Name} ({file.Package}) has no upstream file of that path");
            }
            else if (upstreamFile.Package != file.Package)
            {
                problems.Add($"file {file.Name}: package {file.Package}, upstream {upstreamFile.Package}");
            }

            foreach (var message in file.MessageType)
            {
                CompareMessage($".{file.Package}", message, index, problems);
            }

            foreach (var enumeration in file.EnumType)
            {
                CompareEnum($".{file.Package}", enumeration, index, problems);
            }

            foreach (var service in file.Service)
            {
                CompareService($".{file.Package}", service, index, problems);
            }
        }

        return problems;
    }

    private static void CompareMessage(string scope, DescriptorProto ours, UpstreamIndex index, List<string> problems)
    {
        var name = $"{scope}.{ours.Name}";
        if (!index.Messages.TryGetValue(name, out var theirs))
        {
            problems.Add(index.Enums.ContainsKey(name) ? $"message {name} is an enum upstream" : $"message {name} does not exist upstream");
            return;
        }

        var ourMap = ours.Options?.MapEntry ?? false;
        var theirMap = theirs.Options?.MapEntry ?? false;
        if (ourMap != theirMap)
        {
            problems.Add($"message {name}: map entry {ourMap}, upstream {theirMap}");
        }

        foreach (var field in ours.Field)
        {
            var other = theirs.Field.FirstOrDefault(f => f.Name == field.Name);
            if (other is null)
            {
                var byNumber = theirs.Field.FirstOrDefault(f => f.Number == field.Number);
                problems.Add($"field {name}.{field.Name} (= {field.Number}) does not exist upstream"
                    + (byNumber is null ? "" : $"; upstream's field {field.Number} is {byNumber.Name}"));
                continue;
            }

            var ourShape = Shape(ours, field);
            var theirShape = Shape(theirs, other);
            if (ourShape != theirShape)
            {
                problems.Add($"field {name}.{field.Name}: ours {ourShape}, upstream {theirShape}");
            }
        }

        foreach (var other in theirs.Field.Where(f => ours.Field.All(o => o.Name != f.Name)))
        {
            problems.Add($"field {name}.{other.Name} (= {other.Number}, {Shape(theirs, other)}) is declared upstream but not by us");
        }

        var ourOneofs = RealOneofs(ours);
        var theirOneofs = RealOneofs(theirs);
        foreach (var oneof in ourOneofs.Except(theirOneofs))
        {
            problems.Add($"oneof {name}.{oneof} does not exist upstream");
        }

        foreach (var oneof in theirOneofs.Except(ourOneofs))
        {
            problems.Add($"oneof {name}.{oneof} is declared upstream but not by us");
        }

        foreach (var nested in ours.NestedType)
        {
            CompareMessage(name, nested, index, problems);
        }

        foreach (var nested in theirs.NestedType.Where(n => ours.NestedType.All(o => o.Name != n.Name)))
        {
            problems.Add($"message {name}.{nested.Name} is declared upstream but not by us");
        }

        foreach (var enumeration in ours.EnumType)
        {
            CompareEnum(name, enumeration, index, problems);
        }

        foreach (var enumeration in theirs.EnumType.Where(n => ours.EnumType.All(o => o.Name != n.Name)))
        {
            problems.Add($"enum {name}.{enumeration.Name} is declared upstream but not by us");
        }
    }

    /// <summary>Everything about a field that decides its wire encoding and its generated API.</summary>
    private static string Shape(DescriptorProto message, FieldDescriptorProto field)
    {
        var oneof = field.HasOneofIndex && !field.Proto3Optional ? $" in oneof {message.OneofDecl[field.OneofIndex].Name}" : "";
        var type = field.Type is FieldDescriptorProto.Types.Type.Message or FieldDescriptorProto.Types.Type.Enum
            ? $"{field.Type} {field.TypeName}"
            : field.Type.ToString();
        var packed = field.Options?.HasPacked == true ? $" packed={field.Options.Packed}" : "";
        return $"#{field.Number} {field.Label} {type}{oneof}{(field.Proto3Optional ? " optional" : "")}{packed}";
    }

    /// <summary>Declared oneofs, leaving out the synthetic ones protoc makes for proto3 <c>optional</c>.</summary>
    private static HashSet<string> RealOneofs(DescriptorProto message) =>
        Enumerable.Range(0, message.OneofDecl.Count)
            .Where(i => !message.Field.Any(f => f.HasOneofIndex && f.OneofIndex == i && f.Proto3Optional))
            .Select(i => message.OneofDecl[i].Name)
            .ToHashSet(StringComparer.Ordinal);

    private static void CompareEnum(string scope, EnumDescriptorProto ours, UpstreamIndex index, List<string> problems)
    {
        var name = $"{scope}.{ours.Name}";
        if (!index.Enums.TryGetValue(name, out var theirs))
        {
            problems.Add(index.Messages.ContainsKey(name) ? $"enum {name} is a message upstream" : $"enum {name} does not exist upstream");
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

        foreach (var other in theirs.Value.Where(v => ours.Value.All(o => o.Name != v.Name)))
        {
            problems.Add($"enum value {name}.{other.Name} = {other.Number} is declared upstream but not by us");
        }
    }

    private static void CompareService(string scope, ServiceDescriptorProto ours, UpstreamIndex index, List<string> problems)
    {
        var name = $"{scope}.{ours.Name}";
        if (!index.Services.TryGetValue(name, out var theirs))
        {
            problems.Add($"service {name} does not exist upstream");
            return;
        }

        foreach (var method in ours.Method)
        {
            var other = theirs.Method.FirstOrDefault(m => m.Name == method.Name);
            if (other is null)
            {
                problems.Add($"method {name}.{method.Name} does not exist upstream");
                continue;
            }

            var ourShape = (method.InputType, method.OutputType, method.ClientStreaming, method.ServerStreaming);
            var theirShape = (other.InputType, other.OutputType, other.ClientStreaming, other.ServerStreaming);
            if (ourShape != theirShape)
            {
                problems.Add($"method {name}.{method.Name}: ours {ourShape}, upstream {theirShape}");
            }
        }

        foreach (var other in theirs.Method.Where(m => ours.Method.All(o => o.Name != m.Name)))
        {
            problems.Add($"method {name}.{other.Name} is declared upstream but not by us");
        }
    }
}

/// <summary>Upstream's files, messages (nested ones too), enums and services by full name (".pkg.Outer.Inner").</summary>
internal sealed class UpstreamIndex
{
    public UpstreamIndex(IEnumerable<FileDescriptorProto> files)
    {
        foreach (var file in files)
        {
            Files[file.Name] = file;
            foreach (var message in file.MessageType)
            {
                AddMessage($".{file.Package}", message);
            }

            foreach (var enumeration in file.EnumType)
            {
                Enums[$".{file.Package}.{enumeration.Name}"] = enumeration;
            }

            foreach (var service in file.Service)
            {
                Services[$".{file.Package}.{service.Name}"] = service;
            }
        }
    }

    public Dictionary<string, FileDescriptorProto> Files { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, DescriptorProto> Messages { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, EnumDescriptorProto> Enums { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, ServiceDescriptorProto> Services { get; } = new(StringComparer.Ordinal);

    private void AddMessage(string scope, DescriptorProto message)
    {
        var name = $"{scope}.{message.Name}";
        Messages[name] = message;
        foreach (var nested in message.NestedType)
        {
            AddMessage(name, nested);
        }

        foreach (var enumeration in message.EnumType)
        {
            Enums[$"{name}.{enumeration.Name}"] = enumeration;
        }
    }
}
