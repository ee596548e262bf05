namespace ExtAuthz.Benchmarks; internal static class P { static void Main() { } }
