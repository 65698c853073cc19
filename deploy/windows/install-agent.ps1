<#
.SYNOPSIS
  Installs the kiemke inventory agent on a Windows PC: copies the frozen agent to Program Files, enrols it,
  and installs and starts the "kiemke-agent" service.

.DESCRIPTION
  Run in an elevated PowerShell from the folder that holds this script and the kiemke-agent\ build folder:

    powershell -ExecutionPolicy Bypass -File install-agent.ps1 -Server https://kiemke.example.vn -Token TOKEN

  Air-gapped PC (no network), with the file made by `kiemke-server enrol-offline`:

    powershell -ExecutionPolicy Bypass -File install-agent.ps1 -OfflineFile E:\may-01.json

  Re-running upgrades the files and keeps the enrolment (pass -Server/-Token again to re-enrol).
  -Uninstall removes the service and the program; the data in %ProgramData%\kiemke stays unless -Purge.
#>
[CmdletBinding(DefaultParameterSetName = 'Online')]
param(
    [Parameter(ParameterSetName = 'Online')][string]$Server,
    [Parameter(ParameterSetName = 'Online')][string]$Token,
    [Parameter(ParameterSetName = 'Online')][string]$Ca,
    [Parameter(ParameterSetName = 'Online')][switch]$AllowHttp,
    [Parameter(Mandatory = $true, ParameterSetName = 'Offline')][string]$OfflineFile,
    [Parameter(Mandatory = $true, ParameterSetName = 'Uninstall')][switch]$Uninstall,
    [Parameter(ParameterSetName = 'Uninstall')][switch]$Purge,
    [string]$Source = (Join-Path $PSScriptRoot 'kiemke-agent'),
    [string]$InstallDir = (Join-Path $env:ProgramFiles 'kiemke')
)

$ErrorActionPreference = 'Stop'
$ServiceName = 'kiemke-agent'
$DataDir = Join-Path $env:ProgramData 'kiemke'
$Exe = Join-Path $InstallDir 'kiemke-agent.exe'

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    throw 'Run this script as Administrator (right-click PowerShell, "Run as administrator").'
}

function Stop-AgentService {
    $svc = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
    if ($svc -and $svc.Status -ne 'Stopped') {
        Stop-Service -Name $ServiceName -Force
        $svc.WaitForStatus('Stopped', [TimeSpan]::FromSeconds(60))
    }
    return $svc
}

function Invoke-Agent([string[]]$Arguments) {
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { throw "kiemke-agent $($Arguments[0]) failed (exit code $LASTEXITCODE)" }
}

if ($Uninstall) {
    if (Stop-AgentService) { & sc.exe delete $ServiceName | Out-Null }
    if (Test-Path $InstallDir) { Remove-Item -Recurse -Force $InstallDir }
    if ($Purge -and (Test-Path $DataDir)) { Remove-Item -Recurse -Force $DataDir }
    Write-Host 'kiemke-agent removed.'
    exit 0
}

if (-not (Test-Path (Join-Path $Source 'kiemke-agent.exe'))) {
    throw "No kiemke-agent.exe in ${Source}: build it with deploy\windows\kiemke-agent.spec and copy dist\kiemke-agent here."
}

# 1. Files: stop a running agent first, or its files cannot be replaced.
$existing = Stop-AgentService
New-Item -ItemType Directory -Force -Path $InstallDir | Out-Null
Copy-Item -Path (Join-Path $Source '*') -Destination $InstallDir -Recurse -Force

# 2. Enrolment: the agent writes its key to %ProgramData%\kiemke, readable by SYSTEM and Administrators only.
$env:KIEMKE_AGENT_DIR = $DataDir
if ($PSCmdlet.ParameterSetName -eq 'Offline') {
    Invoke-Agent @('enroll', '--offline', $OfflineFile, '--data-dir', $DataDir)
} elseif ($Server -and $Token) {
    $enrol = @('enroll', '--server', $Server, '--token', $Token, '--data-dir', $DataDir)
    if ($Ca) { $enrol += @('--ca', $Ca) }
    if ($AllowHttp) { $enrol += '--allow-http' }
    Invoke-Agent $enrol
} elseif (-not (Test-Path (Join-Path $DataDir 'config.json'))) {
    throw 'This PC is not enrolled yet: pass -Server URL -Token TOKEN (or -OfflineFile FILE).'
}

# 3. Service: delayed automatic start keeps it out of the boot rush; the agent adds its own random delay.
$binPath = "`"$Exe`" run --windows-service --data-dir `"$DataDir`""
if (-not $existing) {
    New-Service -Name $ServiceName -BinaryPathName $binPath -DisplayName 'kiemke inventory agent' `
        -Description "Reports this PC's hardware, antivirus and firewall state to the kiemke server." `
        -StartupType Automatic | Out-Null
} else {
    # Through the registry, not sc.exe: Windows PowerShell 5.1 mangles the quotes inside a native argument.
    Set-ItemProperty -Path "HKLM:\SYSTEM\CurrentControlSet\Services\$ServiceName" -Name ImagePath -Value $binPath
}
& sc.exe config $ServiceName start= delayed-auto | Out-Null
# Restart after a crash: 1 min, 1 min, then 5 min; forget failures after a day.
& sc.exe failure $ServiceName reset= 86400 actions= restart/60000/restart/60000/restart/300000 | Out-Null
Start-Service -Name $ServiceName

Write-Host ''
Invoke-Agent @('status', '--data-dir', $DataDir)
Write-Host "kiemke-agent installed in $InstallDir and running as the '$ServiceName' service."
