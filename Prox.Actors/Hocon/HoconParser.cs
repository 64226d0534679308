using System.Text.RegularExpressions;
using Akka.Configuration;

namespace Prox.Actors.Hocon;

/// <summary>
/// Turns config text into a <see cref="ConfigNode"/> tree: <see cref="HoconPreprocessor"/> checks the structure and
/// resolves <c>${…}</c>, Akka's parser reads the result, and the tree is copied out of Akka's. Never throws on bad input.
/// </summary>
internal static partial class HoconParser
{
    /// <param name="Root">The root object; null when the text is not valid HOCON (see <paramref name="Error"/>).</param>
    /// <param name="ResolvedText">The text after substitution; null when the preprocessor rejected it.</param>
    /// <param name="Error">What is wrong with the text as a whole, ready to report at the file's path.</param>
    public readonly record struct Result(ConfigNode.Map? Root, string? ResolvedText, string? Error);

    [GeneratedRegex(@"^Unknown token at position (?<pos>\d+)")]
    private static partial Regex UnknownToken();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    /// <summary>Parses <paramref name="text"/> (without a byte-order mark), reading <c>${…}</c> through <paramref name="getEnvironmentVariable"/>.</summary>
    public static Result Parse(string text, Func<string, string?> getEnvironmentVariable)
    {
        var prepared = HoconPreprocessor.Prepare(text, getEnvironmentVariable);
        if (prepared.Text is not { } resolved)
            return new Result(null, null, $"invalid HOCON: {prepared.Error}");

        ConfigNode root;
        try
        {
            var hocon = ConfigurationFactory.ParseString(resolved, IncludeNotSupported);
            root = ConfigNode.FromAkka(hocon.Root);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Akka's parser reports bad input with whatever it hits: FormatException, ConfigurationException,
            // NotSupportedException from our include callback, and occasionally NullReferenceException.
            return new Result(null, resolved, $"invalid HOCON: {Describe(ex, resolved)}");
        }

        return root is ConfigNode.Map map
            ? new Result(map, resolved, null)
            : new Result(null, resolved, "invalid HOCON: the root is not an object");
    }

    /// <summary>The HOCON tree of <paramref name="text"/> (substitutions from the environment), for structural diffs;
    /// null when it is not valid HOCON.</summary>
    public static ConfigNode? ParseTree(string text)
    {
        var prepared = HoconPreprocessor.Prepare(text.TrimStart('\uFEFF'), Environment.GetEnvironmentVariable);
        if (prepared.Text is not { } resolved)
            return null;
        try
        {
            return ConfigNode.FromAkka(ConfigurationFactory.ParseString(resolved, IncludeNotSupported).Root);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // as in Parse: Akka's parser reports bad input with many exception types
            return null;
        }
    }

    private static Akka.Configuration.Hocon.HoconRoot IncludeNotSupported(string name) =>
        throw new NotSupportedException($"include \"{name}\" is not supported; keep the config in one file");

    private static string Describe(Exception ex, string text)
    {
        var message = ex.Message;
        var unknown = UnknownToken().Match(message);
        if (unknown.Success && int.TryParse(unknown.Groups["pos"].Value, out var position))
        {
            var at = position < text.Length ? $" '{text[position]}'" : "";
            return $"{HoconScanner.Position(text, position)}: unexpected token{at}";
        }
        return Whitespace().Replace(message, " ").Trim();
    }
}
