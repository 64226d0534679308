using System.Collections.Immutable;

namespace Prox.Actors.Config;

/// <summary>Result of parsing and validating a config: either a config or every error found.</summary>
public sealed record ConfigParseResult(ProxConfig? Config, ImmutableArray<ConfigError> Errors)
{
    public bool IsValid => Config is not null && Errors.IsEmpty;
}

/// <summary>Parses the HOCON (or JSON) text of a Prox config file and validates the <c>prox</c> block.</summary>
public static class ProxConfigParser
{
    public static ConfigParseResult ParseText(string text) =>
        throw new NotImplementedException("config parser lands with the Config folder");

    public static ConfigParseResult ParseFile(string path) =>
        throw new NotImplementedException("config parser lands with the Config folder");
}
