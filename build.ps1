#!/usr/bin/env pwsh
# Prox build entry point.
#
#   dotnet tool restore            # once: installs the local pwsh from .config/dotnet-tools.json
#   dotnet pwsh build.ps1 [verb] [args...]
#
# Verbs:
#   build  (default)  dotnet build Prox.Akka.sln -c Release
#   test              dotnet test Prox.Akka.sln
#   run    [args...]  dotnet run --project Prox.Hosting -c Release -- run [args...]
#   publish [rid]     dotnet publish Prox.Hosting -c Release -r RID -o out/prox (ReadyToRun; RID default linux-x64)
#   bench  [args...]  bash bench/run.sh [args...]   (env such as QUICK=1, WARMUP, DURATION is passed through)
#   heal   [args...]  bash bench/heal.sh [args...]  (self-healing timings; env such as REPEATS, RATE passed through)
#
# Exits non-zero when the underlying command fails.

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$verb = if ($args.Count -ge 1) { [string]$args[0] } else { 'build' }
$rest = if ($args.Count -ge 2) { @($args[1..($args.Count - 1)]) } else { @() }

$root = $PSScriptRoot
Push-Location $root
try {
    function Invoke-Step {
        param([string]$Exe, [string[]]$Arguments)
        Write-Host "> $Exe $($Arguments -join ' ')" -ForegroundColor Cyan
        & $Exe @Arguments
        if ($LASTEXITCODE -ne 0) {
            Write-Host "build.ps1: '$Exe' exited with code $LASTEXITCODE" -ForegroundColor Red
            exit $LASTEXITCODE
        }
    }

    switch ($verb) {
        'build' { Invoke-Step 'dotnet' (@('build', 'Prox.Akka.sln', '-c', 'Release') + $rest) }
        'test'  { Invoke-Step 'dotnet' (@('test', 'Prox.Akka.sln') + $rest) }
        'run'   { Invoke-Step 'dotnet' (@('run', '--project', 'Prox.Hosting', '-c', 'Release', '--', 'run') + $rest) }
        'publish' {
            $rid = if ($rest.Count -ge 1) { [string]$rest[0] } else { 'linux-x64' }
            Invoke-Step 'dotnet' @('publish', 'Prox.Hosting', '-c', 'Release', '-r', $rid, '--self-contained', 'false', '-o', 'out/prox')
        }
        'bench' { Invoke-Step 'bash' (@((Join-Path $root 'bench/run.sh')) + $rest) }
        'heal'  { Invoke-Step 'bash' (@((Join-Path $root 'bench/heal.sh')) + $rest) }
        { $_ -in @('help', '-h', '--help', '-?') } {
            Write-Host 'usage: dotnet pwsh build.ps1 [build|test|run|publish|bench|heal] [args...]'
            exit 0
        }
        default {
            Write-Host "build.ps1: unknown verb '$verb' (expected build, test, run, publish, bench or heal)" -ForegroundColor Red
            exit 2
        }
    }
}
finally {
    Pop-Location
}
exit 0
