using BenchmarkDotNet.Running;

namespace Aivora.Benchmarks;

public static class Program
{
    /// <summary>BenchmarkDotNet switcher: pass --filter '*Book*' (and e.g. --job short) to choose.</summary>
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
