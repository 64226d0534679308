namespace Prox.Actors.Hocon;

/// <summary>One validation error: the HOCON path and what is wrong with it.</summary>
public sealed record ConfigError(string Path, string Message)
{
    public override string ToString() => $"{Path}: {Message}";
}
