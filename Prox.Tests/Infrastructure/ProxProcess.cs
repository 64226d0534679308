using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Prox.Tests.Infrastructure;

/// <summary>The real <c>prox</c> executable (prox.dll beside the tests) run as a child process, in a working directory
/// of its own (deleted on dispose), so the default <c>data/</c> of each run is fresh.</summary>
public sealed partial class ProxProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource<Uri> _proxyUrl = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<Uri> _adminUrl = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string _workDir = Directory.CreateTempSubdirectory("prox-proc-").FullName;

    private ProxProcess(string[] args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _workDir,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) psi.Environment[name] = value;
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "prox.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => OnLine(e.Data, _stdout);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data, _stderr);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Pid => _process.Id;
    public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }
    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    /// <summary>Runs prox to completion (for validate, or a run that must fail) and returns its exit code.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunToExitAsync(params string[] args)
    {
        await using var p = new ProxProcess(args);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p._process.WaitForExitAsync(cts.Token);
        p._process.WaitForExit(); // drains the redirected streams
        return (p._process.ExitCode, p.Stdout, p.Stderr);
    }

    /// <summary>Starts <c>prox run --config FILE</c> and waits for both listeners to be reported.</summary>
    /// <param name="environment">Variables added to this process's environment (for <c>${?VAR}</c> in the file).</param>
    public static async Task<(ProxProcess Process, Uri Proxy, Uri Admin)> StartAsync(string configFile,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var p = new ProxProcess(["run", "--config", configFile], environment);
        try
        {
            var exited = p._process.WaitForExitAsync();
            var both = Task.WhenAll(p._proxyUrl.Task, p._adminUrl.Task);
            var first = await Task.WhenAny(both, exited, Task.Delay(TimeSpan.FromSeconds(60)));
            if (first != both)
                throw new InvalidOperationException($"prox did not start.\nstdout:\n{p.Stdout}\nstderr:\n{p.Stderr}");
            return (p, await p._proxyUrl.Task, await p._adminUrl.Task);
        }
        catch
        {
            await p.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sends a POSIX signal (<c>TERM</c>, <c>INT</c>, …) to the process with /bin/kill.</summary>
    public async Task SignalAsync(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-" + signal, Pid.ToString() }, UseShellExecute = false })!;
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0) throw new InvalidOperationException($"kill -{signal} {Pid} failed with {kill.ExitCode}");
    }

    /// <summary>The exit code, or null when the process is still running after <paramref name="within"/>.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan within)
    {
        using var cts = new CancellationTokenSource(within);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        _process.WaitForExit(); // drains the redirected streams
        return _process.ExitCode;
    }

    /// <summary>Resident set size now and its peak (VmHWM), in bytes, from /proc.</summary>
    public (long Rss, long Peak) Memory()
    {
        long rss = 0, peak = 0;
        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
        {
            if (line.StartsWith("VmRSS:")) rss = Kb(line);
            else if (line.StartsWith("VmHWM:")) peak = Kb(line);
        }
        return (rss, peak);

        static long Kb(string line) => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }

    private void OnLine(string? line, StringBuilder into)
    {
        if (line is null) return;
        lock (into) into.AppendLine(line);
        if (ProxyLine().Match(line) is { Success: true } m) _proxyUrl.TrySetResult(new Uri(m.Groups[1].Value));
        if (AdminLine().Match(line) is { Success: true } a) _adminUrl.TrySetResult(new Uri(a.Groups[1].Value));
    }

    [GeneratedRegex(@"proxy listening on (http://\S+)")]
    private static partial Regex ProxyLine();

    [GeneratedRegex(@"Admin listening on (http://\S+)")]
    private static partial Regex AdminLine();

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        Directory.Delete(_workDir, recursive: true);
    }
}
