"""The case registry: households, their categories and members, monitoring alerts, active discovery."""
