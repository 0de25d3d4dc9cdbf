namespace Aivora.Core.Tests;

/// <summary>
/// A long-running test: skipped in the default run, run with <c>AIVORA_SOAK=1</c>
/// (e.g. <c>AIVORA_SOAK=1 dotnet test Aivora.LowLatency.sln -c Release --filter Category=Soak</c>).
/// Pair it with <c>[Trait("Category", "Soak")]</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class SoakFactAttribute : FactAttribute
{
    public SoakFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("AIVORA_SOAK") != "1")
        {
            Skip = "soak test: set AIVORA_SOAK=1 to run";
        }
    }
}
