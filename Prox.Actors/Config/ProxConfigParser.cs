using System.Collections.Immutable;
using Prox.Actors.Hocon;

namespace Prox.Actors.Config;

/// <summary>Result of parsing and validating a config: either a config or every error found.</summary>
public sealed record ConfigParseResult(ProxConfig? Config, ImmutableArray<ConfigError> Errors)
{
    public bool IsValid => Config is not null && Errors.IsEmpty;

    /// <summary>
    /// The text after environment substitution, as handed to Akka's HOCON parser; null when the text could not be
    /// read. Give this (not the raw file) to Akka for the <c>akka { … }</c> block: Akka's own parser mishandles
    /// <c>${?VAR}</c> and never reads environment variables.
    /// </summary>
    public string? ResolvedText { get; init; }
}

/// <summary>
/// Parses the HOCON (or JSON) text of a Prox config file and validates the <c>prox</c> block.
/// Never throws: unreadable files, malformed HOCON and invalid values all come back as <see cref="ConfigError"/>s.
/// </summary>
/// <remarks>
/// <c>${NAME}</c> and <c>${?NAME}</c> are resolved from environment variables only (not from other config paths).
/// An unset <c>${?NAME}</c> leaves the field as it was, so <c>listen = "127.0.0.1:8080"</c> followed by
/// <c>listen = ${?PROX_LISTEN}</c> is an optional override; an unset <c>${NAME}</c> is an error.
/// </remarks>
public static class ProxConfigParser
{
    /// <summary>The path used for errors that concern the whole text rather than one value.</summary>
    public const string FilePath = "(file)";

    /// <summary>Parses config text, reading <c>${…}</c> substitutions from the process environment.</summary>
    public static ConfigParseResult ParseText(string text) => ParseText(text, Environment.GetEnvironmentVariable);

    /// <summary>Parses config text, reading <c>${…}</c> substitutions through <paramref name="getEnvironmentVariable"/>.</summary>
    public static ConfigParseResult ParseText(string text, Func<string, string?> getEnvironmentVariable)
    {
        if (text is null)
            return Fail("no config text");
        ArgumentNullException.ThrowIfNull(getEnvironmentVariable);
        try
        {
            return Parse(text.TrimStart('\uFEFF'), text, getEnvironmentVariable);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Boundary: config text is untrusted input and a reload must never take the process down.
            // Reaching this is a bug in this parser; the message carries it to the caller's log.
            return Fail($"internal error while reading the config: {ex.GetType().Name}: {ex.Message}");
        }
    }

    /// <summary>A duration as the config writes it (<c>30s</c>, <c>500ms</c>, <c>2m</c>), for query parameters and the CLI.</summary>
    public static bool TryParseDuration(string text, out TimeSpan value, out string error) =>
        ConfigValues.TryParseDuration(text, out value, out error);

    /// <summary>Reads and parses a config file; a missing or unreadable file is an error, not an exception.</summary>
    public static ConfigParseResult ParseFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException
                                       or NotSupportedException or System.Security.SecurityException)
        {
            var reason = ex is FileNotFoundException or DirectoryNotFoundException ? "file not found" : ex.Message;
            return Fail($"cannot read config file '{path}': {reason}");
        }
        return ParseText(text);
    }

    private static ConfigParseResult Parse(string text, string sourceText, Func<string, string?> getEnvironmentVariable)
    {
        var parsed = HoconParser.Parse(text, getEnvironmentVariable);
        if (parsed.Root is not { } map)
            return Fail(parsed.Error!) with { ResolvedText = parsed.ResolvedText };

        var resolved = parsed.ResolvedText;
        var (config, errors) = ProxConfigBinder.Bind(map);
        return new ConfigParseResult(config is null ? null : config with { SourceText = sourceText, ResolvedText = resolved }, errors)
        {
            ResolvedText = resolved,
        };
    }

    private static ConfigParseResult Fail(string message) =>
        new(null, [new ConfigError(FilePath, message)]);
}
