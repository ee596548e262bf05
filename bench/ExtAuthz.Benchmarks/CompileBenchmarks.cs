using BenchmarkDotNet.Attributes;
using ExtAuthz.Policy;

namespace ExtAuthz.Benchmarks;

/// <summary>
/// Parsing and compiling 10,000 distinct policy documents of 3 to 10 statements each (the size of
/// real AWS IoT policies), generated in setup. One operation = all 10,000. Target: ≤ 2 s.
/// </summary>
[Config(typeof(MacroConfig))]
public class CompileBenchmarks
{
    public const int Count = 10_000;

    private string[] documents = null!;
    private string[] names = null!;

    [GlobalSetup]
    public void Setup()
    {
        documents = new string[Count];
        names = new string[Count];
        for (var i = 0; i < Count; i++)
        {
            documents[i] = PolicyCorpus.Document(i, 3 + (i % 8), kindOffset: i % 10);
            names[i] = $"policy-{i}";
        }

        if (documents.Distinct(StringComparer.Ordinal).Count() != Count)
        {
            throw new InvalidOperationException("benchmark setup: documents are not distinct");
        }
    }

    [Benchmark]
    public int Compile10000Policies()
    {
        var statements = 0;
        for (var i = 0; i < documents.Length; i++)
        {
            statements += PolicyParser.Parse(names[i], documents[i]).Statements.Count;
        }

        return statements;
    }
}
