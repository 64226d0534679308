using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Prox.Actors.Config;
using Prox.Actors.Hocon;
using Prox.Actors.Tls;

namespace Prox.Http.Tls;

/// <summary>A certificate as a handshake uses it: the leaf with its key, the chain sent with it, and where it came from.</summary>
/// <param name="Source">Its place in the config (<c>prox.tls.certificates[0]</c>, <c>prox.listen[1].tls</c>).</param>
public sealed record LoadedCertificate(X509Certificate2 Leaf, SslStreamCertificateContext Context, string CertificateFile,
    string KeyFile, string Source)
{
    public DateTimeOffset NotAfter => new(Leaf.NotAfter.ToUniversalTime(), TimeSpan.Zero);

    /// <summary>The SNI names it is chosen for (<c>prox.tls.certificates</c>); empty for a listener's default.</summary>
    public System.Collections.Immutable.ImmutableArray<string> Hosts { get; init; } = [];
}

/// <summary>
/// Reads PEM certificate chains and keys (PKCS#8, RSA or EC) and checks them: readable, a certificate and a key in
/// each, the key belonging to the certificate, valid now. Each problem is a <see cref="ConfigError"/> at the config path
/// of the file's key, so <c>prox validate</c>, start-up and reloads report them as any other config error.
/// Relative file names resolve against the config file's folder.
/// </summary>
public static class CertificateFiles
{
    public static string Resolve(string file, string baseDirectory) => Path.GetFullPath(Path.Combine(baseDirectory, file));

    /// <summary>The certificate and key at <paramref name="source"/>, or null with the reasons added to <paramref name="errors"/>.</summary>
    public static LoadedCertificate? Load(string certificate, string key, string baseDirectory, string source, DateTimeOffset now,
        List<ConfigError> errors)
    {
        var certPath = source + ".certificate";
        var keyPath = source + ".key";
        var certFile = Resolve(certificate, baseDirectory);
        var keyFile = Resolve(key, baseDirectory);
        // both read before either is judged, so one run reports both
        var certText = Read(certFile, certPath, "certificate", errors);
        var keyText = Read(keyFile, keyPath, "key", errors);
        if (certText is null || keyText is null) return null;

        var chain = new X509Certificate2Collection();
        try
        {
            chain.ImportFromPem(certText);
        }
        catch (CryptographicException e)
        {
            errors.Add(new ConfigError(certPath, $"'{certificate}' is not a PEM certificate: {e.Message}"));
            return null;
        }
        if (chain.Count == 0)
        {
            errors.Add(new ConfigError(certPath, $"'{certificate}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)"));
            return null;
        }

        X509Certificate2 leaf;
        try
        {
            leaf = X509Certificate2.CreateFromPem(certText, keyText);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            // a private key that does not fit the certificate also fails here: tell the two apart by the PEM label
            var why = keyText.Contains("PRIVATE KEY-----", StringComparison.Ordinal)
                ? $"the key in '{key}' does not belong to the certificate in '{certificate}' ({e.Message})"
                : $"'{key}' holds no PEM private key (PKCS#8, RSA or EC)";
            errors.Add(new ConfigError(keyPath, why));
            return null;
        }

        var notAfter = new DateTimeOffset(leaf.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        var notBefore = new DateTimeOffset(leaf.NotBefore.ToUniversalTime(), TimeSpan.Zero);
        if (notAfter <= now)
        {
            errors.Add(new ConfigError(certPath, $"the certificate in '{certificate}' ({leaf.Subject}) expired on {notAfter:yyyy-MM-dd HH:mm} UTC"));
            return null;
        }
        if (notBefore > now)
        {
            errors.Add(new ConfigError(certPath, $"the certificate in '{certificate}' ({leaf.Subject}) is not valid before {notBefore:yyyy-MM-dd HH:mm} UTC"));
            return null;
        }

        // the intermediates go out with the leaf; offline: no fetching of missing ones during a handshake
        var intermediates = new X509Certificate2Collection();
        for (var i = 1; i < chain.Count; i++) intermediates.Add(chain[i]);
        var context = SslStreamCertificateContext.Create(leaf, intermediates, offline: true);
        return new LoadedCertificate(leaf, context, certFile, keyFile, source);
    }

    /// <summary>Loads every certificate <paramref name="config"/> names (listener defaults and <c>prox.tls.certificates</c>);
    /// the errors of all of them.</summary>
    public static List<ConfigError> Check(ProxConfig config, string baseDirectory, DateTimeOffset now)
    {
        var errors = new List<ConfigError>();
        LoadAll(config.Listen.Select(l => l.Tls).OfType<ListenerTls>(), config.Tls, baseDirectory, now, errors);
        return errors;
    }

    /// <summary>Loads the listeners' own certificates, then the <c>prox.tls.certificates</c> entries (each with its
    /// hosts); what did not load is left out and its errors added to <paramref name="errors"/>.</summary>
    public static (List<(ListenerTls Listener, LoadedCertificate Certificate)> Listeners, List<LoadedCertificate> Entries) LoadAll(
        IEnumerable<ListenerTls> listeners, TlsConfig tls, string baseDirectory, DateTimeOffset now, List<ConfigError> errors)
    {
        var own = new List<(ListenerTls, LoadedCertificate)>();
        foreach (var listener in listeners)
            if (listener is { Certificate: { } c, Key: { } k } && Load(c, k, baseDirectory, listener.Path, now, errors) is { } loaded)
                own.Add((listener, loaded));
        var entries = new List<LoadedCertificate>();
        foreach (var entry in tls.Certificates)
            if (Load(entry.Certificate, entry.Key, baseDirectory, entry.Path, now, errors) is { } loaded)
                entries.Add(loaded with { Hosts = entry.Hosts });
        return (own, entries);
    }

    private static string? Read(string file, string path, string what, List<ConfigError> errors)
    {
        try
        {
            return File.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var why = e is FileNotFoundException or DirectoryNotFoundException ? "file not found" : e.Message;
            errors.Add(new ConfigError(path, $"cannot read the {what} file '{file}': {why}"));
            return null;
        }
    }
}
