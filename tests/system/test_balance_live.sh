#!/bin/bash
echo placeholder
exit 1
